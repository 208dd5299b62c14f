import Foundation
import MailCore

/// One event as a reader gets it (`mailroom_events`, docs/events.md). The payload stays JSON text: it
/// goes out to webhooks and the HTTP API as it is stored.
public struct EventRecord: Sendable, Equatable {
    public var seq: Int64
    public var id: String
    public var type: String
    public var version: Int
    public var occurredAt: Date
    public var payload: String
}

/// Queries on `event` (functions/50_events.sql). Events are written by triggers and numbered at
/// commit; the service writes the few that no table change carries (a stalled folder) with `emit`.
public enum EventQueries {
    /// The transaction tenant's events numbered after `after`, in order, at most `max` (1…1000).
    public static func events(_ conn: PostgresConnection, after: Int64, max: Int) throws -> [EventRecord] {
        try conn.query("""
            SELECT seq, id::text, type, version, occurred_at, payload::text FROM mailroom_events(\(after), \(max))
            """, prepared: true).map { row in
            EventRecord(seq: try row.decode(at: 0), id: try row.decode(at: 1), type: try row.decode(at: 2),
                        version: try row.decode(at: 3), occurredAt: try row.decode(at: 4), payload: try row.decode(at: 5))
        }
    }

    /// Writes an event of the transaction's tenant (numbered when the transaction commits).
    public static func emit(_ conn: PostgresConnection, tenant: TenantID, type: String, payload: String) throws {
        try conn.execute("SELECT mailroom_emit_event(\(tenant), \(type), \(payload)::jsonb)")
    }

    /// The tenant's last sequence number (0 before its first event).
    public static func lastSeq(_ conn: PostgresConnection, tenant: TenantID) throws -> Int64 {
        try conn.query("SELECT coalesce((SELECT last_seq FROM event_sequence WHERE tenant_id = \(tenant)), 0)").one().decode(at: 0)
    }
}
