import Foundation
import MailCore

extension EmailQueries {
    /// Queues `draft` through `mailroom_queue_emails` (validation, permission, rows and the `send`
    /// job in the caller's transaction); returns the new email's id. Refusals are `PostgresError`s
    /// with SQLSTATE 22023 (invalid input, a recipient marked undeliverable without `sendAnyway`) or
    /// 42501 (not permitted), and nothing is written.
    public static func emailQueue(_ conn: PostgresConnection, tenant: TenantID, _ d: EmailDraft) throws -> EmailID {
        try emailQueueMany(conn, tenant: tenant, [d])[0]
    }

    /// Queues `drafts` in one call of `mailroom_queue_emails`: all or nothing, one notification of
    /// the workers at commit. Returns the ids in the order of `drafts`. A refusal names the draft
    /// ("email 3: ...", 1-based) when there are several.
    public static func emailQueueMany(_ conn: PostgresConnection, tenant: TenantID, _ drafts: [EmailDraft]) throws -> [EmailID] {
        guard !drafts.isEmpty else { return [] }
        return try emailQueueElements(conn, drafts.map(QueueElement.init(draft:)))
    }

    /// Queues elements of `mailroom_queue_emails` (drafts or the service's auto-replies).
    static func emailQueueElements(_ conn: PostgresConnection, _ elements: [QueueElement]) throws -> [EmailID] {
        try conn.query("""
            SELECT id FROM unnest(mailroom_queue_emails(\(try PostgresJSON(elements))::jsonb)) WITH ORDINALITY AS x(id, o) ORDER BY o
            """).map { try $0.decode(at: 0) }
    }

    /// One element of `mailroom_queue_emails`' JSON array (functions/21_queue_email.sql lists the keys).
    struct QueueElement: Encodable {
        struct Recipient: Encodable {
            var address: String
            var name: String?
        }
        struct Attachment: Encodable {
            var filename: String?
            var content_type: String
            var data: String
        }
        var account: Int64?
        var user: Int64?
        var to: [Recipient]
        var cc: [Recipient] = []
        var bcc: [Recipient] = []
        var subject: String?
        var text: String?
        var html: String?
        var attachments: [Attachment] = []
        var parent_type: String?
        var parent_id: Int64?
        var reply_to_email: Int64?
        var message_id: String?
        var auto_reply: Bool?
        var send_anyway: Bool?

        init(account: Int64?, user: Int64?, to: [Recipient], subject: String?, text: String?) {
            self.account = account
            self.user = user
            self.to = to
            self.subject = subject
            self.text = text
        }

        init(draft d: EmailDraft) {
            self.init(account: d.account?.rawValue, user: d.user.rawValue, to: d.to.map { Recipient(address: $0) },
                      subject: d.subject, text: d.text)
            cc = d.cc.map { Recipient(address: $0) }
            bcc = d.bcc.map { Recipient(address: $0) }
            html = d.html
            attachments = d.attachments.map {
                Attachment(filename: $0.filename, content_type: $0.contentType, data: Data($0.data).base64EncodedString())
            }
            parent_type = d.parent?.type
            parent_id = d.parent?.id
            reply_to_email = d.replyToEmail?.rawValue
            message_id = d.messageID
            send_anyway = d.sendAnyway ? true : nil
        }
    }
}
