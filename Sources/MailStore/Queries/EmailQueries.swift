import Foundation
import MailCore

/// Queries on `email` and the rows that hang off it (recipients, attachments, account links, users,
/// teams). Call inside a transaction scoped to the tenant.
public enum EmailQueries {
    public struct ImportResult: Sendable, Equatable {
        public var emailID: EmailID
        /// False when another mailbox (or an earlier, interrupted run) already stored this Message-ID.
        public var isNew: Bool
    }

    /// Stores one email found in an account's folder, exactly once per tenant.
    ///
    /// Dedupe is the `(tenant_id, message_id)` unique index with `ON CONFLICT DO NOTHING`: concurrent
    /// importers never block each other on a table lock, and the loser simply links the winner's row.
    /// The account link, team rows and user rows are idempotent too, so re-running after a crash
    /// (before the cursor moved) changes nothing.
    public static func emailImport(_ conn: PostgresConnection, tenant: TenantID, email e: NewEmail,
                                   placement p: EmailPlacement) throws -> ImportResult {
        let from = e.from
        let headersJSON = PostgresJSON(rows: e.headers.map { [$0.name, $0.value] })
        let inserted = try conn.query("""
            INSERT INTO email (tenant_id, message_id, message_id_synthetic, subject, from_address, from_name,
                               date_sent, date_received, body_text, body_html, body_html_safe, headers, in_reply_to, "references",
                               size, is_header_only, import_note)
            VALUES (\(tenant), \(e.messageID), \(e.messageIDIsSynthetic), \(e.subject), \(from?.address), \(from?.name),
                    \(e.dateSent), \(e.dateReceived), \(e.bodyText), \(e.bodyHTML), \(e.bodyHTMLSafe), \(headersJSON)::jsonb, \(e.inReplyTo),
                    \(PostgresArray(e.references))::text[], \(e.size), \(e.isHeaderOnly), \(e.importNote))
            ON CONFLICT (tenant_id, message_id) DO NOTHING
            RETURNING id
            """)
        let id: EmailID
        let isNew: Bool
        if let row = inserted.first {
            id = try row.decode(at: 0)
            isNew = true
            try insertRecipients(conn, tenant: tenant, email: id, e.recipients)
            for (i, a) in e.attachments.enumerated() {
                try conn.execute("""
                    INSERT INTO attachment (tenant_id, email_id, position, filename, content_type, content_id, is_inline, size, data)
                    VALUES (\(tenant), \(id), \(i), \(a.filename), \(a.contentType), \(a.contentID), \(a.isInline), \(a.data.count), \(a.data))
                    """)
            }
        } else {
            id = try conn.query("SELECT id FROM email WHERE tenant_id = \(tenant) AND message_id = \(e.messageID)").one().decode(at: 0)
            isNew = false
        }
        try conn.execute("""
            INSERT INTO email_account_link (tenant_id, email_id, account_id, folder_id, uidvalidity, uid)
            VALUES (\(tenant), \(id), \(p.accountID), \(p.folderID), \(p.uidValidity), \(p.uid))
            ON CONFLICT (tenant_id, email_id, account_id) DO UPDATE
                SET folder_id = excluded.folder_id, uidvalidity = excluded.uidvalidity, uid = excluded.uid
                WHERE (email_account_link.folder_id, email_account_link.uidvalidity, email_account_link.uid)
                      IS DISTINCT FROM (excluded.folder_id, excluded.uidvalidity, excluded.uid)
            """)
        try deliverToUsers(conn, tenant: tenant, email: id, placement: p)
        return ImportResult(emailID: id, isNew: isNew)
    }

    private static func insertRecipients(_ conn: PostgresConnection, tenant: TenantID, email: EmailID,
                                         _ recipients: [NewEmail.Recipient]) throws {
        guard !recipients.isEmpty else { return }
        var positions: [String: Int] = [:]
        var kinds: [String] = [], pos: [Int] = [], addrs: [String] = [], names: [String?] = []
        for r in recipients {
            let p = positions[r.kind.rawValue, default: 0]
            positions[r.kind.rawValue] = p + 1
            kinds.append(r.kind.rawValue); pos.append(p); addrs.append(r.address.lowercased()); names.append(r.name)
        }
        try conn.execute("""
            INSERT INTO email_recipient (tenant_id, email_id, kind, position, address, name)
            SELECT \(tenant), \(email), k, p, a, n
            FROM unnest(\(PostgresArray(kinds))::text[], \(PostgresArray(pos))::int[], \(PostgresArray(addrs))::text[],
                        \(PostgresArray(names))::text[]) AS t(k, p, a, n)
            ON CONFLICT DO NOTHING
            """)
    }

    /// Shares the email with the account's teams and puts it in users' inboxes:
    /// - a group account's team members when the account adds all team users (EspoCRM's rule);
    /// - a personal account's owner;
    /// - any active user of the tenant whose address is in From, To or Cc (the sender's copy is read
    ///   and filed as sent).
    /// Existing user rows keep their flags: a second mailbox delivering the same email never resets
    /// what a user already read.
    private static func deliverToUsers(_ conn: PostgresConnection, tenant: TenantID, email: EmailID, placement p: EmailPlacement) throws {
        try conn.execute("""
            INSERT INTO email_team (tenant_id, email_id, team_id)
            SELECT tenant_id, \(email), team_id FROM mail_account_team WHERE tenant_id = \(tenant) AND account_id = \(p.accountID)
            ON CONFLICT DO NOTHING
            """)
        try conn.execute("""
            WITH acct AS (
                SELECT kind, owner_user_id, case_add_all_team_users FROM mail_account WHERE tenant_id = \(tenant) AND id = \(p.accountID)
            ), by_address AS (
                SELECT o.user_id, bool_or(r.kind = 'from') AS is_sender
                FROM email_recipient r
                JOIN email_address_owner o ON o.tenant_id = r.tenant_id AND o.address = r.address AND o.user_id IS NOT NULL
                WHERE r.tenant_id = \(tenant) AND r.email_id = \(email) AND r.kind IN ('from', 'to', 'cc')
                GROUP BY o.user_id
            ), candidates AS (
                SELECT tu.user_id, false AS is_sender FROM team_user tu, acct
                WHERE acct.kind = 'group' AND acct.case_add_all_team_users AND tu.tenant_id = \(tenant)
                  AND tu.team_id IN (SELECT team_id FROM mail_account_team WHERE tenant_id = \(tenant) AND account_id = \(p.accountID))
                UNION ALL
                SELECT owner_user_id, false FROM acct WHERE owner_user_id IS NOT NULL
                UNION ALL
                SELECT user_id, is_sender FROM by_address
            )
            INSERT INTO email_user (tenant_id, email_id, user_id, is_read, folder)
            SELECT \(tenant), \(email), c.user_id, bool_or(c.is_sender),
                   CASE WHEN bool_or(c.is_sender) THEN 'sent' ELSE \(p.target) END
            FROM candidates c JOIN app_user u ON u.tenant_id = \(tenant) AND u.id = c.user_id AND u.is_active
            GROUP BY c.user_id
            ON CONFLICT (tenant_id, email_id, user_id) DO NOTHING
            """)
    }

    public static func emailCount(_ conn: PostgresConnection, tenant: TenantID) throws -> Int {
        try conn.query("SELECT count(*) FROM email WHERE tenant_id = \(tenant)").one().decode(at: 0)
    }
}
