import MailCore

/// Queries on `notification`. Call inside a transaction scoped to the tenant.
public enum NotificationQueries {
    /// Notifies the followers of each email's parent record, and of the parent's CRM account, that
    /// the email arrived (`email_received`) or that a colleague sent it (`email_sent`, for a Sent
    /// row): one notification per (user, email). Never the sender (a user holding the From address,
    /// or the user who sent it through a shared account). Only users who can see the record: active users; for a case, also
    /// only admins, its assignee, its creator and members of its team (anyone, when it has no team).
    /// Emails without a parent are skipped. Returns the number of notifications created.
    @discardableResult
    public static func notificationCreateForEmails(_ conn: PostgresConnection, tenant: TenantID, emails: [EmailID]) throws -> Int {
        guard !emails.isEmpty else { return 0 }
        return try conn.execute("""
            WITH e AS (
                SELECT id, parent_type, parent_id, crm_account_id, lower(from_address) AS sender, subject, created_by_user_id,
                       CASE WHEN status = 'Sent' THEN 'email_sent' ELSE 'email_received' END AS kind
                FROM email WHERE tenant_id = \(tenant) AND id = ANY(\(PostgresArray(emails.map(\.rawValue)))::bigint[])
                  AND parent_id IS NOT NULL
            ), followers AS (
                SELECT e.id AS email_id, f.user_id FROM e
                JOIN follow f ON f.tenant_id = \(tenant) AND f.record_type = e.parent_type AND f.record_id = e.parent_id
                UNION
                SELECT e.id, f.user_id FROM e
                JOIN follow f ON f.tenant_id = \(tenant) AND f.record_type = 'account' AND f.record_id = e.crm_account_id
            )
            INSERT INTO notification (tenant_id, user_id, kind, email_id, record_type, record_id, data)
            SELECT \(tenant), u.id, e.kind, e.id, e.parent_type, e.parent_id,
                   jsonb_build_object('subject', e.subject, 'from', e.sender)
            FROM followers fo
            JOIN e ON e.id = fo.email_id
            JOIN app_user u ON u.tenant_id = \(tenant) AND u.id = fo.user_id AND u.is_active
            LEFT JOIN support_case c ON e.parent_type = 'case' AND c.tenant_id = \(tenant) AND c.id = e.parent_id
            WHERE u.id IS DISTINCT FROM e.created_by_user_id
              AND NOT EXISTS (SELECT 1 FROM email_address_owner o
                              WHERE o.tenant_id = \(tenant) AND o.user_id = u.id AND o.address = e.sender)
              -- A user's own "don't notify" filter marked their copy of the email.
              AND NOT EXISTS (SELECT 1 FROM email_user eu
                              WHERE eu.tenant_id = \(tenant) AND eu.email_id = e.id AND eu.user_id = u.id AND NOT eu.notify)
              AND (c.id IS NULL OR u.is_admin OR c.team_id IS NULL
                   OR u.id = c.assigned_user_id OR u.id = c.created_by_user_id
                   OR EXISTS (SELECT 1 FROM team_user tu WHERE tu.tenant_id = \(tenant) AND tu.team_id = c.team_id AND tu.user_id = u.id))
            ORDER BY e.id, u.id
            ON CONFLICT DO NOTHING
            """, prepared: true)
    }

    /// Alerts people that a mail account's SMTP is failing (kind `smtp_failure`) or that it needs a new
    /// OAuth login (kind `oauth_reauth_required`): the owner of a personal account, every
    /// active admin of the tenant for a group account. The caller decides how often (at most once a
    /// day per account, `SMTPAlertPolicy`). `data` holds the account and the error text, which never
    /// carries a secret.
    @discardableResult
    public static func notificationCreateSMTPFailure(_ conn: PostgresConnection, tenant: TenantID, account: AccountID,
                                                     error: String, kind: String = "smtp_failure") throws -> Int {
        try conn.execute("""
            INSERT INTO notification (tenant_id, user_id, kind, data)
            SELECT \(tenant), u.id, \(kind),
                   jsonb_build_object('account_id', a.id, 'account', a.name, 'address', a.address, 'error', \(error)::text)
            FROM mail_account a
            JOIN app_user u ON u.tenant_id = a.tenant_id AND u.is_active
                AND ((a.kind = 'personal' AND u.id = a.owner_user_id) OR (a.kind = 'group' AND u.is_admin))
            WHERE a.tenant_id = \(tenant) AND a.id = \(account)
            ORDER BY u.id
            """)
    }

    public struct Notification: Sendable, Equatable {
        public var userID: UserID
        public var kind: String
        public var emailID: EmailID?
    }

    /// The tenant's notifications, oldest first.
    public static func notificationList(_ conn: PostgresConnection, tenant: TenantID) throws -> [Notification] {
        try conn.query("SELECT user_id, kind, email_id FROM notification WHERE tenant_id = \(tenant) ORDER BY id").map {
            Notification(userID: try $0.decode(at: 0), kind: try $0.decode(at: 1), emailID: try $0.decode(at: 2))
        }
    }
}
