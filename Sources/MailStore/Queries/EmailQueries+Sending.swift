import Foundation
import MailCore

extension EmailQueries {
    /// The queued email `id` with its envelope, attachments and account; nil when it is gone.
    public static func emailGetOutgoing(_ conn: PostgresConnection, tenant: TenantID, id: EmailID) throws -> OutgoingEmail? {
        guard let row = try conn.query("""
            SELECT e.status, e.message_id, e.subject, e.from_address, e.from_name, e.body_text, e.body_html, e.in_reply_to,
                   e."references", e.is_auto_reply,
                   a.id, a.kind, a.address, a.smtp_host, a.smtp_port, a.smtp_security, a.smtp_verify_tls, a.smtp_username,
                   a.smtp_auth, a.smtp_secret, a.smtp_store_sent, a.sent_folder, e.parent_type, e.parent_id,
                   e.body_html IS NOT NULL AND e.body_html_safe IS NULL,
                   (SELECT t.remote_images FROM tenant t WHERE t.id = e.tenant_id), a.oauth_client_id
            FROM email e JOIN mail_account a ON a.tenant_id = e.tenant_id AND a.id = e.send_account_id
            WHERE e.tenant_id = \(tenant) AND e.id = \(id)
            """).first else { return nil }
        var to: [OutgoingEmail.Address] = [], cc: [OutgoingEmail.Address] = [], bcc: [OutgoingEmail.Address] = []
        var replyTo: [OutgoingEmail.Address] = []
        for r in try conn.query("""
            SELECT kind, address, name FROM email_recipient WHERE tenant_id = \(tenant) AND email_id = \(id)
              AND kind IN ('to', 'cc', 'bcc', 'reply_to') ORDER BY kind, position
            """) {
            let a = OutgoingEmail.Address(address: try r.decode(at: 1), name: try r.decode(at: 2))
            switch try r.decode(String.self, at: 0) {
            case "to": to.append(a)
            case "cc": cc.append(a)
            case "bcc": bcc.append(a)
            default: replyTo.append(a)
            }
        }
        let attachments = try conn.query("""
            SELECT filename, content_type, data FROM attachment WHERE tenant_id = \(tenant) AND email_id = \(id) ORDER BY position
            """).map { EmailDraft.Attachment(filename: try $0.decode(at: 0), contentType: try $0.decode(at: 1), data: try $0.decode(at: 2)) }
        let references: PostgresTextArray = try row.decode(at: 8)
        let parentType: RecordType? = try row.decode(at: 22)
        let parent = try parentType.map { RecordRef($0, try row.decode(Int64.self, at: 23)) }
        var email = OutgoingEmail(
            tenantID: tenant, id: id, status: try row.decode(at: 0), messageID: try row.decode(at: 1), subject: try row.decode(at: 2),
            from: .init(address: try row.decode(at: 3), name: try row.decode(at: 4)), to: to, cc: cc, bcc: bcc, replyTo: replyTo,
            bodyText: try row.decode(at: 5), bodyHTML: try row.decode(at: 6), inReplyTo: try row.decode(at: 7),
            references: references.elements, isAutoReply: try row.decode(at: 9), attachments: attachments,
            account: SMTPAccount(
                id: try row.decode(at: 10), kind: try row.decode(at: 11),
                address: try row.decode(at: 12), host: try row.decode(at: 13), port: try row.decode(at: 14),
                security: try row.decode(at: 15), verifyTLS: try row.decode(at: 16), username: try row.decode(at: 17),
                auth: try row.decode(at: 18), secret: try row.decode(at: 19), storeSent: try row.decode(at: 20),
                sentFolder: try row.decode(at: 21), oauthClientID: try row.decode(at: 26)),
            parent: parent)
        email.needsSafeHTML = try row.decode(at: 24)
        email.remoteImages = try TenantQueries.remoteImagePolicy(try row.decode(at: 25))
        return email
    }

    /// Stores the sanitised copy of a queued email's HTML, unless one is there already.
    public static func emailSetSafeHTML(_ conn: PostgresConnection, tenant: TenantID, id: EmailID, html: String) throws {
        try conn.execute("""
            UPDATE email SET body_html_safe = \(html) WHERE tenant_id = \(tenant) AND id = \(id) AND body_html_safe IS NULL
            """)
    }

    /// Replaces the Message-ID of the queued email `id` (still 'Sending' and still holding `current`)
    /// with `messageID`; returns whether it did. The worker signs a reply's Message-ID this way, in the
    /// transaction that starts the first attempt, so every attempt submits the same one.
    public static func emailSetMessageID(_ conn: PostgresConnection, tenant: TenantID, id: EmailID, current: String,
                                         messageID: String) throws -> Bool {
        try conn.execute("""
            UPDATE email SET message_id = \(messageID)
            WHERE tenant_id = \(tenant) AND id = \(id) AND status = 'Sending' AND message_id = \(current)
            """) == 1
    }

    /// Counts an attempt on a queued email; returns false when it is no longer queued (already sent,
    /// failed, or deleted): the caller must not submit it.
    public static func emailSendAttemptStart(_ conn: PostgresConnection, tenant: TenantID, id: EmailID) throws -> Bool {
        try conn.execute("""
            UPDATE email SET send_attempts = send_attempts + 1 WHERE tenant_id = \(tenant) AND id = \(id) AND status = 'Sending'
            """) == 1
    }

    /// Re-checks, right before submission, that the queued email may still go out: the sending
    /// user's permission on the account (`mailroom_may_send`, as at queueing: a role, team or admin
    /// flag changed since, the user or account deactivated), or for an auto-reply, that the account
    /// is active with auto-replies on. Returns nil when it may, else the reason, naming user and account.
    public static func emailSendRefusal(_ conn: PostgresConnection, tenant: TenantID, id: EmailID) throws -> String? {
        guard let row = try conn.query("""
            SELECT CASE WHEN e.created_by_user_id IS NULL THEN e.is_auto_reply AND a.is_active AND a.auto_reply_enabled
                        ELSE mailroom_may_send(e.created_by_user_id, e.send_account_id) END,
                   e.created_by_user_id IS NULL, coalesce(u.username, e.created_by_user_id::text), a.name, a.address
            FROM email e JOIN mail_account a ON a.tenant_id = e.tenant_id AND a.id = e.send_account_id
            LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.created_by_user_id
            WHERE e.tenant_id = \(tenant) AND e.id = \(id)
            """).first else { return "the account to send from no longer exists" }
        if try row.decode(Bool.self, at: 0) { return nil }
        let account = "\(try row.decode(String.self, at: 3)) <\(try row.decode(String.self, at: 4))>"
        if try row.decode(Bool.self, at: 1) {
            return "auto-reply not sent: mail account \(account) is inactive or its auto-replies were turned off after queueing"
        }
        return "not sent: user \(try row.decode(String.self, at: 2)) may no longer send from mail account \(account) "
            + "(permission checked again at send time)"
    }

    /// Records that the server accepted the email: status Sent, the Date it carries, the size sent,
    /// an `email_sent` entry in its parent's stream (a case's last activity bumped too), and the
    /// account's SMTP error cleared, in ONE statement, run right after acceptance. The only
    /// window where a crash makes the message go out twice is between the server's 250 and this
    /// statement's commit (the job is then rescued and submits again); nothing shorter is possible
    /// without the server's cooperation. Returns the seconds from queueing to `sent_at`, by the
    /// database's clock (nil when the row is gone or has no `queued_at`).
    @discardableResult
    public static func emailMarkSent(_ conn: PostgresConnection, tenant: TenantID, id: EmailID, date: Date, size: Int) throws -> Double? {
        try conn.query("""
            WITH sent AS (
                UPDATE email SET status = 'Sent', date_sent = \(date), sent_at = now(), size = \(size), send_error = NULL
                WHERE tenant_id = \(tenant) AND id = \(id)
                RETURNING id, send_account_id, parent_type, parent_id, extract(epoch FROM sent_at - queued_at)::float8 AS waited
            ), stream AS (
                INSERT INTO stream_entry (tenant_id, record_type, record_id, kind, email_id)
                SELECT \(tenant), parent_type, parent_id, 'email_sent', id FROM sent WHERE parent_type IS NOT NULL
            ), touched AS (
                UPDATE support_case c SET last_activity_at = now()
                FROM sent WHERE c.tenant_id = \(tenant) AND sent.parent_type = 'case' AND c.id = sent.parent_id
            ), cleared AS (
                UPDATE mail_account a SET smtp_last_error = NULL
                FROM sent WHERE a.tenant_id = \(tenant) AND a.id = sent.send_account_id AND a.smtp_last_error IS NOT NULL
            )
            SELECT waited FROM sent
            """).first?.decode(Double?.self, at: 0)
    }

    /// Records a failed attempt: the server's reason, and status Failed when `final`.
    public static func emailRecordSendFailure(_ conn: PostgresConnection, tenant: TenantID, id: EmailID, error: String, final: Bool) throws {
        try conn.execute("""
            UPDATE email SET send_error = \(error), status = CASE WHEN \(final) THEN 'Failed' ELSE status END
            WHERE tenant_id = \(tenant) AND id = \(id) AND status = 'Sending'
            """)
    }
}
