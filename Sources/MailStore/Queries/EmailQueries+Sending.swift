import Foundation
import MailCore

extension EmailQueries {
    /// The queued email `id` with its envelope, attachments and account; nil when it is gone. One
    /// round trip (pipeline mode), plus one per piece of a large attachment.
    public static func emailGetOutgoing(_ conn: PostgresConnection, tenant: TenantID, id: EmailID) throws -> OutgoingEmail? {
        let rows = try conn.pipeline(outgoingSQL(tenant: tenant, id: id).map { ($0, true) })
        return try outgoingDecode(conn, tenant: tenant, id: id, rows[...])
    }

    /// What a send attempt found (`emailSendAttemptStart`).
    public enum SendAttempt: Sendable {
        /// No longer queued (already sent, failed, or deleted): nothing may be submitted.
        case gone
        /// Queued, but it may no longer go out, for this reason (`emailSendRefusal`).
        case refused(String)
        /// Counted as an attempt and permitted: submit it.
        case ready(OutgoingEmail)
    }

    /// Starts a send attempt in ONE round trip (pipeline mode): counts the attempt while the email is
    /// still queued, re-checks the permission (`emailSendRefusal`) and loads it (`emailGetOutgoing`).
    /// The loads run even when the first statements make them moot; they only read.
    ///
    /// The transaction's commit is asynchronous (`synchronous_commit = off`, for it only): what it
    /// writes (the attempt count, a refusal, the sanitised HTML) may be lost to a server crash right
    /// after it without harm, since the next attempt writes it again. `emailSetMessageID` makes the
    /// commit durable again, because every attempt must submit the Message-ID it writes.
    public static func emailSendAttemptStart(_ conn: PostgresConnection, tenant: TenantID, id: EmailID) throws -> SendAttempt {
        let statements = ["SET LOCAL synchronous_commit = off", emailSendAttemptCountSQL(tenant: tenant, id: id),
                          emailSendRefusalSQL(tenant: tenant, id: id)] + outgoingSQL(tenant: tenant, id: id)
        let rows = try conn.pipeline(statements.enumerated().map { ($0.element, $0.offset > 0) })
        guard rows[1].affectedRows == 1 else { return .gone }
        if let refusal = try refusalDecode(rows[2]) { return .refused(refusal) }
        guard let email = try outgoingDecode(conn, tenant: tenant, id: id, rows[3...]) else { return .gone }
        return .ready(email)
    }

    /// The statements `outgoingDecode` reads: the email with its account, its recipients, its
    /// attachments (large ones without data).
    static func outgoingSQL(tenant: TenantID, id: EmailID) -> [SQL] {
        ["""
            SELECT e.status, e.message_id, e.subject, e.from_address, e.from_name, e.body_text, e.body_html, e.in_reply_to,
                   e."references", e.is_auto_reply,
                   a.id, a.kind, a.address, a.smtp_host, a.smtp_port, a.smtp_security, a.smtp_verify_tls, a.smtp_username,
                   a.smtp_auth, a.smtp_secret, a.smtp_store_sent, a.sent_folder, e.parent_type, e.parent_id,
                   e.body_html IS NOT NULL AND e.body_html_safe IS NULL,
                   (SELECT t.remote_images FROM tenant t WHERE t.id = e.tenant_id), a.oauth_client_id, a.smtp_max_connections
            FROM email e JOIN mail_account a ON a.tenant_id = e.tenant_id AND a.id = e.send_account_id
            WHERE e.tenant_id = \(tenant) AND e.id = \(id)
            """,
         """
            SELECT kind, address, name FROM email_recipient WHERE tenant_id = \(tenant) AND email_id = \(id)
              AND kind IN ('to', 'cc', 'bcc', 'reply_to') ORDER BY kind, position
            """,
         """
            SELECT position, filename, content_type, octet_length(data),
                   CASE WHEN octet_length(data) <= \(attachmentChunk) THEN data END
            FROM attachment WHERE tenant_id = \(tenant) AND email_id = \(id) ORDER BY position
            """]
    }

    /// The email from the rows of `outgoingSQL` (in order); large attachments are read here.
    static func outgoingDecode(_ conn: PostgresConnection, tenant: TenantID, id: EmailID,
                               _ rows: ArraySlice<PostgresRows>) throws -> OutgoingEmail? {
        let results = Array(rows)
        guard let row = results[0].first else { return nil }
        var to: [OutgoingEmail.Address] = [], cc: [OutgoingEmail.Address] = [], bcc: [OutgoingEmail.Address] = []
        var replyTo: [OutgoingEmail.Address] = []
        for r in results[1] {
            let a = OutgoingEmail.Address(address: try r.decode(at: 1), name: try r.decode(at: 2))
            switch try r.decode(String.self, at: 0) {
            case "to": to.append(a)
            case "cc": cc.append(a)
            case "bcc": bcc.append(a)
            default: replyTo.append(a)
            }
        }
        let attachments = try results[2].map { try attachmentDecode(conn, tenant: tenant, id: id, $0) }
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
                sentFolder: try row.decode(at: 21), oauthClientID: try row.decode(at: 26),
                maxConnections: try row.decode(at: 27)),
            parent: parent)
        email.needsSafeHTML = try row.decode(at: 24)
        email.remoteImages = try TenantQueries.remoteImagePolicy(try row.decode(at: 25))
        return email
    }

    /// Attachments up to this size come with the list; larger ones are read in pieces of this size.
    static let attachmentChunk = 1 << 20

    /// One attachment row of `outgoingSQL`. A large attachment is read here in `attachmentChunk`
    /// pieces: libpq holds a whole result row in its input buffer (and keeps that buffer), and bytea
    /// arrives as hex text, so one 25 MB attachment read at once would cost ~100 MB of transient
    /// memory before it became 25 MB of bytes.
    static func attachmentDecode(_ conn: PostgresConnection, tenant: TenantID, id: EmailID, _ row: PostgresRow) throws -> EmailDraft.Attachment {
        let chunk = attachmentChunk
        var a = EmailDraft.Attachment(filename: try row.decode(at: 1), contentType: try row.decode(at: 2), data: [])
        if let data: [UInt8] = try row.decode(at: 4) {
            a.data = data
            return a
        }
        let position: Int = try row.decode(at: 0), length: Int = try row.decode(at: 3)
        a.data.reserveCapacity(length)
        // substring() on bytea counts from 1.
        for offset in stride(from: 1, through: length, by: chunk) {
            let piece: [UInt8] = try conn.query("""
                SELECT substring(data FROM \(offset) FOR \(chunk)) FROM attachment
                WHERE tenant_id = \(tenant) AND email_id = \(id) AND position = \(position)
                """).one().decode(at: 0)
            a.data += piece
        }
        guard a.data.count == length else {
            throw PostgresError(code: .decodingFailed, message: "attachment \(position) of email \(id) changed while read")
        }
        return a
    }

    /// Stores the sanitised copy of a queued email's HTML, unless one is there already.
    public static func emailSetSafeHTML(_ conn: PostgresConnection, tenant: TenantID, id: EmailID, html: String) throws {
        try conn.execute("""
            UPDATE email SET body_html_safe = \(html) WHERE tenant_id = \(tenant) AND id = \(id) AND body_html_safe IS NULL
            """)
    }

    /// Replaces the Message-ID of the queued email `id` (still 'Sending' and still holding `current`)
    /// with `messageID`; returns whether it did. The worker signs a reply's Message-ID this way, in the
    /// transaction that starts the first attempt, so every attempt submits the same one: that
    /// transaction's commit is made durable here (`synchronous_commit = on`), whatever was set before.
    public static func emailSetMessageID(_ conn: PostgresConnection, tenant: TenantID, id: EmailID, current: String,
                                         messageID: String) throws -> Bool {
        try conn.execute("SET LOCAL synchronous_commit = on")
        return try conn.execute("""
            UPDATE email SET message_id = \(messageID)
            WHERE tenant_id = \(tenant) AND id = \(id) AND status = 'Sending' AND message_id = \(current)
            """) == 1
    }

    /// Counts an attempt on a queued email; affects no row when it is no longer queued (already
    /// sent, failed, or deleted): the caller must not submit it.
    static func emailSendAttemptCountSQL(tenant: TenantID, id: EmailID) -> SQL {
        """
        UPDATE email SET send_attempts = send_attempts + 1 WHERE tenant_id = \(tenant) AND id = \(id) AND status = 'Sending'
        """
    }

    /// Re-checks, right before submission, that the queued email may still go out: the sending
    /// user's permission on the account (`mailroom_may_send`, as at queueing: a role, team or admin
    /// flag changed since, the user or account deactivated), or for an auto-reply, that the account
    /// is active with auto-replies on. Returns nil when it may, else the reason, naming user and account.
    public static func emailSendRefusal(_ conn: PostgresConnection, tenant: TenantID, id: EmailID) throws -> String? {
        try refusalDecode(conn.query(emailSendRefusalSQL(tenant: tenant, id: id)))
    }

    static func emailSendRefusalSQL(tenant: TenantID, id: EmailID) -> SQL {
        """
        SELECT CASE WHEN e.created_by_user_id IS NULL THEN e.is_auto_reply AND a.is_active AND a.auto_reply_enabled
                    ELSE mailroom_may_send(e.created_by_user_id, e.send_account_id) END,
               e.created_by_user_id IS NULL, coalesce(u.username, e.created_by_user_id::text), a.name, a.address
        FROM email e JOIN mail_account a ON a.tenant_id = e.tenant_id AND a.id = e.send_account_id
        LEFT JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.created_by_user_id
        WHERE e.tenant_id = \(tenant) AND e.id = \(id)
        """
    }

    static func refusalDecode(_ rows: PostgresRows) throws -> String? {
        guard let row = rows.first else { return "the account to send from no longer exists" }
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
            """, prepared: true).first?.decode(Double?.self, at: 0)
    }

    /// Records a failed attempt: the server's reason, and status Failed when `final`.
    public static func emailRecordSendFailure(_ conn: PostgresConnection, tenant: TenantID, id: EmailID, error: String, final: Bool) throws {
        try conn.execute("""
            UPDATE email SET send_error = \(error), status = CASE WHEN \(final) THEN 'Failed' ELSE status END
            WHERE tenant_id = \(tenant) AND id = \(id) AND status = 'Sending'
            """)
    }
}
