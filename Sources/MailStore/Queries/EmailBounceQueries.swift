import Foundation
import MailCore

/// Queries on `email_bounce`: what delivery reports said about each recipient of the mail we sent
/// (migrations/0023_bounces.sql, functions/60_bounces.sql). Call inside a transaction scoped to the
/// tenant.
public enum EmailBounceQueries {
    /// One recipient of a delivery report, in the words the table stores: `action` is one of failed,
    /// delayed, delivered, relayed, expanded; `severity` hard or soft, only for failed and delayed.
    public struct Recipient: Sendable, Equatable, Encodable {
        public var address: String
        public var action: String
        public var severity: String?
        public var status: String?
        public var diagnostic: String?

        public init(address: String, action: String, severity: String?, status: String?, diagnostic: String?) {
            self.address = address
            self.action = action
            self.severity = severity
            self.status = status
            self.diagnostic = diagnostic
        }
    }

    /// What a report was tied to: the outbound email and its parent record, when it has one.
    public struct Tie: Sendable, Equatable {
        public var email: EmailID
        public var parent: RecordRef?
        public init(email: EmailID, parent: RecordRef?) {
            self.email = email
            self.parent = parent
        }
    }

    /// One delivery report to record: the imported report, the Message-IDs that may name the email it
    /// answers (most trusted first, without angle brackets), and what it says per recipient.
    public struct Report: Sendable, Encodable {
        public var report: EmailID
        public var messageIDs: [String]
        public var recipients: [Recipient]

        public init(report: EmailID, messageIDs: [String], recipients: [Recipient]) {
            self.report = report
            self.messageIDs = messageIDs
            self.recipients = recipients
        }

        enum CodingKeys: String, CodingKey { case report, messageIDs = "message_ids", recipients }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(report.rawValue, forKey: .report)
            try c.encode(messageIDs, forKey: .messageIDs)
            try c.encode(recipients, forKey: .recipients)
        }
    }

    /// Records the reports of an import batch in one call of `mailroom_record_delivery_reports`: ties
    /// each to the first of its Message-IDs naming an email the tenant sent, stores one row per
    /// recipient, marks the emails Bounced and the failed addresses per the tenant's rules, and links
    /// each report to its email's record without notifying anyone. Idempotent. Returns, per report in
    /// order, its tie (nil when untied: its recipients are stored all the same). Service only.
    @discardableResult
    public static func emailBounceRecordMany(_ conn: PostgresConnection, tenant: TenantID, _ reports: [Report]) throws -> [Tie?] {
        guard !reports.isEmpty else { return [] }
        return try conn.query("""
            SELECT email_id, parent_type, parent_id FROM mailroom_record_delivery_reports(\(try PostgresJSON(reports))::jsonb)
            """, prepared: true).map { row in
            guard let email: EmailID = try row.decode(at: 0) else { return nil }
            let type: String? = try row.decode(at: 1)
            let id: Int64? = try row.decode(at: 2)
            return Tie(email: email, parent: type.flatMap(RecordType.init(rawValue:)).flatMap { t in id.map { RecordRef(t, $0) } })
        }
    }

    /// `emailBounceRecordMany` for one report.
    @discardableResult
    public static func emailBounceRecord(_ conn: PostgresConnection, tenant: TenantID, report: EmailID, messageIDs: [String],
                                         recipients: [Recipient]) throws -> Tie? {
        try emailBounceRecordMany(conn, tenant: tenant, [Report(report: report, messageIDs: messageIDs, recipients: recipients)])[0]
    }

    /// One stored row.
    public struct Bounce: Sendable, Equatable {
        public var report: EmailID
        public var email: EmailID?
        public var recipient: String
        public var action: String
        public var severity: String?
        public var statusCode: String?
        public var diagnostic: String?
    }

    /// The rows of the report `report`, or (`outbound`) of every report about an email, by recipient.
    public static func emailBounceList(_ conn: PostgresConnection, tenant: TenantID, report: EmailID? = nil,
                                       outbound: EmailID? = nil) throws -> [Bounce] {
        try conn.query("""
            SELECT report_email_id, email_id, recipient, action, severity, status_code, diagnostic
            FROM email_bounce
            WHERE tenant_id = \(tenant) AND (report_email_id = \(report) OR email_id = \(outbound))
            ORDER BY recipient, report_email_id
            """).map {
            Bounce(report: try $0.decode(at: 0), email: try $0.decode(at: 1), recipient: try $0.decode(at: 2), action: try $0.decode(at: 3),
                   severity: try $0.decode(at: 4), statusCode: try $0.decode(at: 5), diagnostic: try $0.decode(at: 6))
        }
    }

    /// The number of distinct reports of the tenant tied to an email it sent.
    public static func emailBounceCountTied(_ conn: PostgresConnection, tenant: TenantID) throws -> Int {
        try conn.query("""
            SELECT count(DISTINCT report_email_id)::int FROM email_bounce WHERE tenant_id = \(tenant) AND email_id IS NOT NULL
            """).one().decode(at: 0)
    }
}
