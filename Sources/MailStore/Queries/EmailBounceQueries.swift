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

    /// Records the report `report` (an email of the tenant) with `mailroom_record_delivery_report`:
    /// ties it to the first of `messageIDs` naming an email the tenant sent, stores one row per
    /// recipient, marks the email Bounced and the failed addresses per the tenant's rules, and links
    /// the report to the email's record without notifying anyone. Idempotent. Returns the tie, nil
    /// for an untied report (whose recipients are stored all the same). Service only.
    @discardableResult
    public static func emailBounceRecord(_ conn: PostgresConnection, tenant: TenantID, report: EmailID, messageIDs: [String],
                                         recipients: [Recipient]) throws -> Tie? {
        guard let row = try conn.query("""
            SELECT email_id, parent_type, parent_id
            FROM mailroom_record_delivery_report(\(report), \(PostgresArray(messageIDs))::text[], \(try PostgresJSON(recipients))::jsonb)
            """, prepared: true).first else { return nil }
        let type: String? = try row.decode(at: 1)
        let id: Int64? = try row.decode(at: 2)
        return Tie(email: try row.decode(at: 0), parent: type.flatMap(RecordType.init(rawValue:)).flatMap { t in id.map { RecordRef(t, $0) } })
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
