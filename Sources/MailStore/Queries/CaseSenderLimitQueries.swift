import Foundation
import MailCore
import MailDomain

/// Queries of the storm breaker (`case_sender_limit`, migrations/0024_storm_breakers.sql): taking a
/// sender's slot, and the trips `mailroom status` and the worker's gauges show. Call inside a
/// transaction scoped to the tenant.
public enum CaseSenderLimitQueries {
    /// Takes one `slot` for `sender` under `account`'s limits (`mailroom_case_sender_take`, atomic
    /// under concurrency); `tripped` answers the first mail held back of a trip.
    public static func caseSenderTake(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, sender: String,
                                      slot: CaseRouting.BreakerSlot) throws -> CaseRouting.BreakerAnswer {
        try conn.query("SELECT mailroom_case_sender_take(\(account), \(sender), \(slot.rawValue))").one().decode(at: 0)
    }

    /// A sender past its limit: mail from it opens (or reopens) nothing until its window passes.
    public struct Trip: Sendable, Equatable {
        /// The account whose limit refused (nil when it was deleted since).
        public var accountID: AccountID?
        public var account: String?
        public var sender: String
        public var slot: CaseRouting.BreakerSlot
        public var since: Date
        /// Mails held back since the trip began.
        public var heldBack: Int
        public var lastHeldAt: Date
    }

    /// The tenant's trips that still hold (`mailroom_case_sender_tripped`), by sender and slot.
    public static func caseSenderListTripped(_ conn: PostgresConnection, tenant: TenantID) throws -> [Trip] {
        try conn.query("""
            SELECT s.tripped_account_id, a.name, s.sender, s.slot, s.tripped_at, s.held_back, s.last_held_at
            FROM case_sender_limit s
            LEFT JOIN mail_account a ON a.tenant_id = s.tenant_id AND a.id = s.tripped_account_id
            WHERE s.tenant_id = \(tenant) AND s.tripped_at IS NOT NULL AND mailroom_case_sender_tripped(s)
            ORDER BY s.sender, s.slot
            """).map {
            Trip(accountID: try $0.decode(at: 0), account: try $0.decode(at: 1), sender: try $0.decode(at: 2),
                 slot: try $0.decode(at: 3), since: try $0.decode(at: 4), heldBack: try $0.decode(at: 5),
                 lastHeldAt: try $0.decode(at: 6))
        }
    }
}
