import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting

/// The poll benchmark's data: tenants of skewed sizes whose mail accounts all point at a few real
/// Dovecot mailboxes (several accounts may share a login; to Mailroom they are separate accounts,
/// each with its own INBOX folder, schedule and cursor).
struct PollFleet {
    /// Accounts per tenant: tenant 0 holds half; ten small tenants hold 1–5 each; the rest share the remainder.
    static func tenantSizes(accounts: Int, tenants: Int) -> [Int] {
        precondition(tenants >= 12 && accounts >= 2 * tenants, "need at least 12 tenants and 2 accounts per tenant")
        var sizes = [accounts / 2]
        for i in 0..<10 { sizes.append(1 + i % 5) }
        let rest = accounts - sizes.reduce(0, +), others = tenants - sizes.count
        for i in 0..<others { sizes.append(rest / others + (i < rest % others ? 1 : 0)) }
        return sizes
    }

    struct Tenant { var id: TenantID; var slug: String; var accounts: Int }

    /// Creates the tenants, accounts and folders in bulk (one transaction per tenant).
    static func provision(_ db: BenchDatabase, sizes: [Int], mailboxes: [TestMailbox], server: TestMailServer,
                          security: String, secrets: SecretBox, interval: Int) async throws -> [Tenant] {
        let ids = try await db.makeTenants(sizes.count, prefix: "fleet")
        var tenants: [Tenant] = []
        var next = 0
        for (i, tenant) in ids.enumerated() {
            let n = sizes[i]
            let boxes = (0..<n).map { mailboxes[(next + $0) % mailboxes.count] }
            next += n
            try await db.pool.transaction(tenant: tenant) { conn in
                let accountIDs = try conn.query("""
                    INSERT INTO mail_account (tenant_id, kind, name, address, imap_host, imap_port, imap_security,
                                              imap_verify_tls, imap_username, poll_interval)
                    SELECT \(tenant), 'group', 'box ' || k, 'box' || k || '@fleet.test', \(server.host), \(server.imapPort),
                           \(security), false, (\(PostgresArray(boxes.map(\.address)))::text[])[k], make_interval(secs => \(interval))
                    FROM generate_series(1, \(n)) AS k
                    ORDER BY k
                    RETURNING id
                    """).map { try $0.decode(AccountID.self, at: 0) }
                var sealed: [String] = []
                for (k, account) in accountIDs.enumerated() {
                    let context = MailAccountRecord.secretContext(tenant: tenant, account: account, field: "imap_secret")
                    let bytes = try secrets.seal(Secret(boxes[k].password), context: context)
                    sealed.append("\\x" + bytes.map { String(format: "%02x", $0) }.joined())
                }
                try conn.execute("""
                    UPDATE mail_account a SET imap_secret = s.secret
                    FROM unnest(\(PostgresArray(accountIDs.map(\.rawValue)))::bigint[], \(PostgresArray(sealed))::bytea[]) AS s(id, secret)
                    WHERE a.tenant_id = \(tenant) AND a.id = s.id
                    """)
                try conn.execute("""
                    INSERT INTO mail_folder (tenant_id, account_id, name)
                    SELECT \(tenant), unnest(\(PostgresArray(accountIDs.map(\.rawValue)))::bigint[]), 'INBOX'
                    """)
            }
            tenants.append(Tenant(id: tenant, slug: "fleet-\(i)", accounts: n))
        }
        return tenants
    }
}
