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

    /// Deletes the oldest of the tenant's events that are older than its `event_retention` at `now`,
    /// at most `limit`; returns how many. Only a prefix of the sequence goes: the first `limit`
    /// events in sequence order up to the first one still inside the retention, so what is kept
    /// stays gap-free (an event that committed late with an early `occurred_at` waits for the ones
    /// before it). The walk is the `event_seq` index, (tenant_id, seq) WHERE seq > 0, from its
    /// start: no index on `occurred_at` is needed, and unnumbered events (seq < 0, inside a writing
    /// transaction) are never touched. Call in a transaction of the tenant, as often as it returns
    /// `limit`.
    public static func pruneExpired(_ conn: PostgresConnection, tenant: TenantID, now: Date, limit: Int) throws -> Int {
        try conn.execute("""
            WITH head AS (
                SELECT seq, occurred_at FROM event WHERE tenant_id = \(tenant) AND seq > 0 ORDER BY seq LIMIT \(limit)
            ), keep AS (
                SELECT min(seq) AS first_kept FROM head
                WHERE occurred_at >= \(now)::timestamptz - (SELECT event_retention FROM tenant WHERE id = \(tenant))
            )
            DELETE FROM event e USING head
            WHERE e.tenant_id = \(tenant) AND e.seq > 0 AND e.seq = head.seq
              AND head.seq < coalesce((SELECT first_kept FROM keep), 9223372036854775807)
            """)
    }

    /// The tenant's last sequence number (0 before its first event).
    public static func lastSeq(_ conn: PostgresConnection, tenant: TenantID) throws -> Int64 {
        try conn.query("SELECT coalesce((SELECT last_seq FROM event_sequence WHERE tenant_id = \(tenant)), 0)").one().decode(at: 0)
    }
}
