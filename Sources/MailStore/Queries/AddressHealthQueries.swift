import Foundation
import MailCore

/// Queries on `address_health`: per tenant and address, whether mail to it is refused because it
/// bounced (migrations/0023_bounces.sql, functions/60_bounces.sql; docs/bounces.md). Call inside a
/// transaction scoped to the tenant.
public enum AddressHealthQueries {
    public struct Health: Sendable, Equatable {
        public var address: String
        /// Set while mail to the address is refused.
        public var undeliverableAt: Date?
        public var reason: String?
        /// The outbound email whose bounce marked the address (or, unmarked, bounced last).
        public var email: EmailID?
        public var report: EmailID?
        public var softBounces: Int
        public var clearedAt: Date?
        public var clearedBy: String?
    }

    /// The address's row (`address` is lowercased here), nil when it never bounced.
    public static func addressHealthGet(_ conn: PostgresConnection, tenant: TenantID, address: String) throws -> Health? {
        try conn.query("""
            SELECT address, undeliverable_at, reason, email_id, report_email_id, soft_bounces, cleared_at, cleared_by
            FROM address_health WHERE tenant_id = \(tenant) AND address = \(address.lowercased())
            """).first.map {
            Health(address: try $0.decode(at: 0), undeliverableAt: try $0.decode(at: 1), reason: try $0.decode(at: 2),
                   email: try $0.decode(at: 3), report: try $0.decode(at: 4), softBounces: try $0.decode(at: 5),
                   clearedAt: try $0.decode(at: 6), clearedBy: try $0.decode(at: 7))
        }
    }

    /// True when mail to `address` is refused (it is marked undeliverable).
    public static func addressHealthIsUndeliverable(_ conn: PostgresConnection, tenant: TenantID, address: String) throws -> Bool {
        try conn.query("""
            SELECT EXISTS (SELECT 1 FROM address_health
                           WHERE tenant_id = \(tenant) AND address = \(address.lowercased()) AND undeliverable_at IS NOT NULL)
            """, prepared: true).one().decode(at: 0)
    }

    /// Clears the marks of senders that wrote to us (`mailroom_address_wrote`): each pair is an
    /// inbound email and its From address. Returns how many addresses were cleared. Service only.
    @discardableResult
    public static func addressHealthWrote(_ conn: PostgresConnection, tenant: TenantID,
                                          senders: [(address: String, email: EmailID)]) throws -> Int {
        guard !senders.isEmpty else { return 0 }
        return try conn.query("""
            SELECT mailroom_address_wrote(\(PostgresArray(senders.map(\.address)))::text[],
                                          \(PostgresArray(senders.map(\.email.rawValue)))::bigint[])
            """, prepared: true).one().decode(at: 0)
    }

    /// An administrator's clearing (`mailroom_address_clear`): true when the address was marked.
    /// The CRM may call it only acting as an administrator (mailroom.user_id).
    @discardableResult
    public static func addressHealthClear(_ conn: PostgresConnection, tenant: TenantID, address: String) throws -> Bool {
        try conn.query("SELECT mailroom_address_clear(\(address))").one().decode(at: 0)
    }
}
