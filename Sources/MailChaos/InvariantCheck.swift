import Foundation
import MailCore
import MailStore

/// What the database holds for one tenant at the end of a run, read inside the tenant's own transaction
/// (row-level security applies, as for every tenant query).
struct TenantSnapshot: Sendable {
    var emails = 0
    var distinctMessageIDs = 0
    /// Message-IDs stored, without brackets.
    var messageIDs: Set<String> = []
    /// (Message-ID, account name) of every email_account_link row; `linkRows` counts rows, so a pair
    /// stored twice would show as more rows than pairs.
    var links: Set<Pair> = []
    var linkRows = 0
    var failuresFailed = 0
    var failuresRetrying = 0
    var pollLogRows = 0
    var pollErrors = 0
    var overlappingPolls = 0

    struct Pair: Hashable, Sendable { var messageID: String; var account: String }

    static func read(_ pool: PostgresPool, tenant: TenantID) async throws -> TenantSnapshot {
        try await pool.transaction(tenant: tenant) { conn in
            var s = TenantSnapshot()
            // Imported mail only: what the run queued for sending (`queued_at` set) is checked by OAuthSendCheck.
            let counts = try conn.query("""
                SELECT count(*), count(DISTINCT message_id) FROM email WHERE tenant_id = \(tenant) AND queued_at IS NULL
                """).one()
            s.emails = try counts.decode(at: 0)
            s.distinctMessageIDs = try counts.decode(at: 1)
            s.messageIDs = Set(try conn.query("SELECT message_id FROM email WHERE tenant_id = \(tenant) AND queued_at IS NULL").map {
                try $0.decode(String.self, at: 0)
            })
            let links = try conn.query("""
                SELECT e.message_id, a.name FROM email_account_link l
                JOIN email e ON e.tenant_id = l.tenant_id AND e.id = l.email_id
                JOIN mail_account a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
                WHERE l.tenant_id = \(tenant) AND e.queued_at IS NULL
                """).map { Pair(messageID: try $0.decode(at: 0), account: try $0.decode(at: 1)) }
            s.linkRows = links.count
            s.links = Set(links)
            let failures = try conn.query("""
                SELECT count(*) FILTER (WHERE state = 'failed'), count(*) FILTER (WHERE state = 'retrying')
                FROM import_failure WHERE tenant_id = \(tenant)
                """).one()
            s.failuresFailed = try failures.decode(at: 0)
            s.failuresRetrying = try failures.decode(at: 1)
            let polls = try conn.query("SELECT count(*), count(error) FROM mail_poll_log WHERE tenant_id = \(tenant)").one()
            s.pollLogRows = try polls.decode(at: 0)
            s.pollErrors = try polls.decode(at: 1)
            s.overlappingPolls = try conn.query("""
                SELECT count(*) FROM mail_poll_log a JOIN mail_poll_log b
                  ON a.tenant_id = b.tenant_id AND a.folder_id = b.folder_id AND a.id < b.id
                 AND a.started_at < b.finished_at AND b.started_at < a.finished_at
                WHERE a.tenant_id = \(tenant)
                """).one().decode(Int.self, at: 0)
            return s
        }
    }
}

/// The queue's state across tenants (the job table is read by the owner role, as the workers read it).
struct QueueSnapshot: Sendable {
    var running = 0
    var runningExpired = 0
    var failed = 0

    static func read(_ pool: PostgresPool) async throws -> QueueSnapshot {
        try await pool.withConnection { conn in
            let row = try conn.query("""
                SELECT count(*) FILTER (WHERE state = 'running'),
                       count(*) FILTER (WHERE state = 'running' AND lease_until < now()),
                       count(*) FILTER (WHERE state = 'failed')
                FROM job
                """).one()
            return QueueSnapshot(running: try row.decode(at: 0), runningExpired: try row.decode(at: 1), failed: try row.decode(at: 2))
        }
    }
}

/// Expected against stored for one tenant: the invariant "every delivered message imported exactly once".
struct TenantVerdict: Sendable {
    var slug: String
    var delivered: Int
    var expectedLinks: Int
    var snapshot: TenantSnapshot
    var missing: [String]
    var unexpected: [String]
    var missingLinks: Int
    var unexpectedLinks: Int

    init(slug: String, expected: [String: Set<String>], snapshot: TenantSnapshot) {
        self.slug = slug
        self.snapshot = snapshot
        let all = expected.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        let pairs = Set(expected.flatMap { account, ids in ids.map { TenantSnapshot.Pair(messageID: $0, account: account) } })
        delivered = all.count
        expectedLinks = pairs.count
        missing = all.subtracting(snapshot.messageIDs).sorted()
        unexpected = snapshot.messageIDs.subtracting(all).sorted()
        missingLinks = pairs.subtracting(snapshot.links).count
        unexpectedLinks = snapshot.links.subtracting(pairs).count
    }

    var duplicates: Int { snapshot.emails - snapshot.distinctMessageIDs }
    var duplicateLinks: Int { snapshot.linkRows - snapshot.links.count }

    var violations: [String] {
        var v: [String] = []
        if !missing.isEmpty { v.append("\(slug): \(missing.count) delivered message(s) not imported, e.g. \(missing.prefix(3).joined(separator: ", "))") }
        if !unexpected.isEmpty { v.append("\(slug): \(unexpected.count) stored message(s) never delivered to this tenant") }
        if duplicates != 0 { v.append("\(slug): \(duplicates) duplicate Message-ID(s)") }
        if missingLinks + unexpectedLinks + duplicateLinks != 0 {
            v.append("\(slug): account links off (missing \(missingLinks), unexpected \(unexpectedLinks), duplicate \(duplicateLinks))")
        }
        if snapshot.failuresFailed != 0 { v.append("\(slug): \(snapshot.failuresFailed) import failure(s) left 'failed'") }
        if snapshot.overlappingPolls != 0 { v.append("\(slug): \(snapshot.overlappingPolls) overlapping poll(s) of one folder") }
        return v
    }
}
