import Foundation
import MailCore

/// Queries for auto-replies: the account's settings, the per-sender rate limit (`auto_reply_sender`)
/// and queueing the reply as an outgoing email. Call inside a transaction scoped to the tenant.
public enum AutoReplyQueries {
    public struct Settings: Sendable {
        public var enabled: Bool
        /// Case creation on: the case path answers (with the case), not the plain import path.
        public var caseCreate: Bool
        public var subject: String?
        public var body: String?
        public var fromAddress: String
        public var fromName: String?
        public var replyTo: String?
        /// The tenant's no-reply sender pattern (POSIX regex, case-insensitive).
        public var noReplyPattern: String
        /// Every address of every account of the tenant, lower-cased: never auto-answered, and an
        /// `X-Loop` naming one of them is our own loop.
        public var monitoredAddresses: Set<String>
    }

    public static func autoReplySettings(_ conn: PostgresConnection, tenant: TenantID, account: AccountID) throws -> Settings? {
        guard let row = try conn.query("""
            SELECT a.auto_reply_enabled AND a.is_active AND a.kind = 'group' AND a.smtp_host IS NOT NULL,
                   a.auto_reply_subject, a.auto_reply_body, coalesce(a.auto_reply_from_address, a.address),
                   coalesce(a.auto_reply_from_name, a.display_name), coalesce(a.auto_reply_reply_to, a.reply_to), t.no_reply_pattern,
                   ARRAY(SELECT lower(x) FROM mail_account m,
                                LATERAL unnest(ARRAY[m.address, m.auto_reply_from_address, m.reply_to] || m.aliases) v(x)
                         WHERE m.tenant_id = a.tenant_id AND x IS NOT NULL),
                   a.case_create
            FROM mail_account a JOIN tenant t ON t.id = a.tenant_id
            WHERE a.tenant_id = \(tenant) AND a.id = \(account)
            """).first else { return nil }
        let monitored: PostgresTextArray = try row.decode(at: 7)
        return Settings(enabled: try row.decode(at: 0), caseCreate: try row.decode(at: 8), subject: try row.decode(at: 1), body: try row.decode(at: 2),
                        fromAddress: try row.decode(at: 3), fromName: try row.decode(at: 4), replyTo: try row.decode(at: 5),
                        noReplyPattern: try row.decode(at: 6), monitoredAddresses: Set(monitored.elements))
    }

    /// True when any of `messageIDs` (an email's In-Reply-To and References) names an email the
    /// tenant holds other than `excluding`: the email continues a known thread.
    public static func emailThreadIsKnown(_ conn: PostgresConnection, tenant: TenantID, messageIDs: [String], excluding: EmailID) throws -> Bool {
        guard !messageIDs.isEmpty else { return false }
        return try conn.query("""
            SELECT EXISTS (SELECT 1 FROM email WHERE tenant_id = \(tenant) AND message_id = ANY(\(PostgresArray(messageIDs))::text[])
                           AND id <> \(excluding))
            """).one().decode(at: 0)
    }

    /// Takes one slot of the account's per-sender sliding window (`mailroom_auto_reply_take`,
    /// atomic under concurrency); false when the sender reached the limit.
    public static func autoReplyTake(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, sender: String) throws -> Bool {
        try conn.query("SELECT mailroom_auto_reply_take(\(account), \(sender))").one().decode(at: 0)
    }

    /// An auto-reply to queue. From, its name and Reply-To come from the account's auto-reply
    /// settings, In-Reply-To and References from the answered email (`mailroom_queue_emails`).
    public struct Reply: Sendable {
        public var account: AccountID
        public var answering: EmailID
        public var messageID: String
        public var to: (address: String, name: String?)
        public var subject: String
        public var body: String
        public var parent: (type: String, id: Int64)?

        public init(account: AccountID, answering: EmailID, messageID: String, to: (address: String, name: String?),
                    subject: String, body: String, parent: (type: String, id: Int64)? = nil) {
            self.account = account
            self.answering = answering
            self.messageID = messageID
            self.to = to
            self.subject = subject
            self.body = body
            self.parent = parent
        }
    }

    /// Queues an auto-reply through `mailroom_queue_emails` (no sender: only the service queues one,
    /// and the row trigger admits it only as the answer to mail this account received while its
    /// auto-replies are on), with its `send` job.
    @discardableResult
    public static func autoReplyQueue(_ conn: PostgresConnection, tenant: TenantID, _ r: Reply) throws -> EmailID {
        var element = EmailQueries.QueueElement(account: r.account.rawValue, user: nil,
                                                to: [.init(address: r.to.address, name: r.to.name)], subject: r.subject, text: r.body)
        element.reply_to_email = r.answering.rawValue
        element.message_id = r.messageID
        element.parent_type = r.parent?.type
        element.parent_id = r.parent?.id
        element.auto_reply = true
        return try EmailQueries.emailQueueElements(conn, [element])[0]
    }
}
