import Foundation
import MailCore

/// Queries on `webhook_endpoint` (migrations/0020_webhooks.sql, functions/52_webhooks.sql): the
/// delivery job's reads and state changes, `mailroom apply`'s upserts, replay and status. Call inside
/// a transaction scoped to the tenant.
public enum WebhookQueries {
    // MARK: Delivery

    public static func webhookGet(_ conn: PostgresConnection, tenant: TenantID, id: Int64) throws -> WebhookEndpointRecord? {
        guard let row = try conn.query("""
            SELECT name, url, event_types, secret, enabled, cursor_seq, consecutive_failures, failing_since, next_attempt_at,
                   extract(epoch FROM retry_window)::float8, batch_size
            FROM webhook_endpoint WHERE tenant_id = \(tenant) AND id = \(id)
            """).first else { return nil }
        let name: String = try row.decode(at: 0), url: String = try row.decode(at: 1), types = try row.decode(PostgresTextArray.self, at: 2).elements
        let secret: [UInt8]? = try row.decode(at: 3), enabled: Bool = try row.decode(at: 4), cursor: Int64 = try row.decode(at: 5)
        let failures: Int = try row.decode(at: 6), failingSince: Date? = try row.decode(at: 7), next: Date? = try row.decode(at: 8)
        let window: Double = try row.decode(at: 9), batchSize: Int = try row.decode(at: 10)
        return WebhookEndpointRecord(tenantID: tenant, id: id, name: name, url: url, eventTypes: types, secret: secret, enabled: enabled,
                                     cursor: cursor, consecutiveFailures: failures, failingSince: failingSince, nextAttemptAt: next,
                                     retryWindow: window, batchSize: batchSize)
    }

    /// The endpoint's next events after `after` that it wants, in order, at most `max`, each with the
    /// body it is POSTed with (built here so every delivery of an event sends the same bytes).
    public static func webhookPending(_ conn: PostgresConnection, tenant: TenantID, types: [String], after: Int64,
                                      max: Int) throws -> [WebhookDelivery] {
        try conn.query("""
            SELECT seq, id::text, json_build_object(
                       'seq', seq, 'id', id, 'type', type, 'version', version,
                       'occurred_at', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                       'payload', payload)::text
            FROM event
            WHERE tenant_id = \(tenant) AND seq > \(after) AND seq > 0  -- `seq > 0`: the partial index event_seq
              AND (cardinality(\(PostgresArray(types))::text[]) = 0 OR type = ANY (\(PostgresArray(types))::text[]))
            ORDER BY seq LIMIT \(max)
            """, prepared: true).map { row in
            WebhookDelivery(seq: try row.decode(at: 0), eventID: try row.decode(at: 1), body: try row.decode(at: 2))
        }
    }

    /// Records the receiver's acknowledgement of event `seq`: the cursor moves from `from` to `seq`
    /// and the failures are cleared. False when the cursor was not at `from` any more (a replay moved
    /// it, or the endpoint is gone or disabled): the caller stops, the replay's wake-up delivers.
    public static func webhookDelivered(_ conn: PostgresConnection, tenant: TenantID, id: Int64, from: Int64, seq: Int64,
                                        status: Int) throws -> Bool {
        try conn.execute("""
            UPDATE webhook_endpoint SET cursor_seq = \(seq), consecutive_failures = 0, failing_since = NULL,
                   next_attempt_at = NULL, last_attempt_at = now(), last_status = \(status), last_error = NULL
            WHERE tenant_id = \(tenant) AND id = \(id) AND enabled AND cursor_seq = \(from)
            """, prepared: true) == 1
    }

    /// A failed attempt, counted: returns the run's failure count, when it began and the database's
    /// clock (nil when the endpoint is gone or disabled meanwhile).
    public static func webhookFailed(_ conn: PostgresConnection, tenant: TenantID, id: Int64, status: Int?,
                                     error: String) throws -> (failures: Int, failingSince: Date, now: Date)? {
        guard let row = try conn.query("""
            UPDATE webhook_endpoint SET consecutive_failures = consecutive_failures + 1,
                   failing_since = coalesce(failing_since, now()), last_attempt_at = now(), last_status = \(status)::integer,
                   last_error = \(error)
            WHERE tenant_id = \(tenant) AND id = \(id) AND enabled
            RETURNING consecutive_failures, failing_since, now()
            """).first else { return nil }
        return (try row.decode(at: 0), try row.decode(at: 1), try row.decode(at: 2))
    }

    /// After a failure: the next attempt is not before `at` (wake-ups skip the endpoint until then).
    public static func webhookScheduleRetry(_ conn: PostgresConnection, tenant: TenantID, id: Int64, at: Date) throws {
        try conn.execute("UPDATE webhook_endpoint SET next_attempt_at = \(at) WHERE tenant_id = \(tenant) AND id = \(id)")
    }

    /// Disables the endpoint with `reason` and writes the `webhook.disabled` event (numbered at
    /// commit like any other, docs/events.md).
    public static func webhookDisable(_ conn: PostgresConnection, tenant: TenantID, id: Int64, reason: String) throws {
        try conn.execute("""
            WITH off AS (
                UPDATE webhook_endpoint SET enabled = false, disabled_reason = \(reason), disabled_at = now(),
                       next_attempt_at = NULL, updated_at = now()
                WHERE tenant_id = \(tenant) AND id = \(id) AND enabled
                RETURNING id, name, url, cursor_seq, failing_since, last_error
            )
            SELECT mailroom_emit_event(\(tenant), 'webhook.disabled', jsonb_build_object(
                'endpoint_id', id, 'name', name, 'url', url, 'reason', \(reason)::text, 'cursor', cursor_seq,
                'failing_since', failing_since, 'last_error', last_error))
            FROM off
            """)
    }

    // MARK: Replay and status

    /// Moves the cursor of endpoint `name` back to `from - 1`, enables it and clears its failures,
    /// then wakes its delivery job. False when the tenant has no such endpoint.
    public static func webhookReplay(_ conn: PostgresConnection, tenant: TenantID, name: String, from: Int64) throws -> Bool {
        guard let id: Int64 = try conn.query("""
            UPDATE webhook_endpoint SET cursor_seq = \(max(0, from - 1)), enabled = true, disabled_reason = NULL,
                   disabled_at = NULL, consecutive_failures = 0, failing_since = NULL, next_attempt_at = NULL,
                   last_error = NULL, updated_at = now()
            WHERE tenant_id = \(tenant) AND name = \(name)
            RETURNING id
            """).first?.decode(at: 0) else { return false }
        try conn.execute("SELECT mailroom_webhook_enqueue(\(tenant), ARRAY[\(id)]::bigint[])")
        return true
    }

    public static func webhookList(_ conn: PostgresConnection, tenant: TenantID) throws -> [WebhookEndpointStatus] {
        try conn.query("""
            SELECT name, url, enabled, disabled_reason, cursor_seq,
                   coalesce((SELECT last_seq FROM event_sequence WHERE tenant_id = \(tenant)), 0),
                   consecutive_failures, last_error
            FROM webhook_endpoint WHERE tenant_id = \(tenant) ORDER BY name
            """).map { row in
            WebhookEndpointStatus(name: try row.decode(at: 0), url: try row.decode(at: 1), enabled: try row.decode(at: 2),
                                  disabledReason: try row.decode(at: 3), cursor: try row.decode(at: 4), lastSeq: try row.decode(at: 5),
                                  consecutiveFailures: try row.decode(at: 6), lastError: try row.decode(at: 7))
        }
    }

    // MARK: Manifest

    /// Every administrator-set column of an endpoint but its secret (sealed against the row id and
    /// written with `webhookSetSecret`).
    public struct Settings: Sendable, Equatable {
        public var name: String
        public var url: String
        public var eventTypes: [String]
        /// Seconds.
        public var retryWindow: Double
        /// Events per POST (1: one envelope per POST).
        public var batchSize: Int
        public init(name: String, url: String, eventTypes: [String], retryWindow: Double, batchSize: Int = 1) {
            self.name = name; self.url = url; self.eventTypes = eventTypes; self.retryWindow = retryWindow; self.batchSize = batchSize
        }
    }

    /// Creates or updates an endpoint by name; returns its id and 1 when anything changed. A new
    /// endpoint starts at the tenant's current last event: it receives what happens from now on
    /// (`mailroom events replay` sends older events).
    public static func webhookUpsert(_ conn: PostgresConnection, tenant: TenantID, _ s: Settings) throws -> (Int64, Int) {
        let rows = try conn.query("""
            INSERT INTO webhook_endpoint AS w (tenant_id, name, url, event_types, retry_window, batch_size, cursor_seq)
            VALUES (\(tenant), \(s.name), \(s.url), \(PostgresArray(s.eventTypes))::text[], make_interval(secs => \(s.retryWindow)::float8),
                    \(s.batchSize), coalesce((SELECT last_seq FROM event_sequence WHERE tenant_id = \(tenant)), 0))
            ON CONFLICT (tenant_id, name) DO UPDATE SET
                url = excluded.url, event_types = excluded.event_types, retry_window = excluded.retry_window,
                batch_size = excluded.batch_size, updated_at = now()
            WHERE (w.url, w.event_types, w.retry_window, w.batch_size)
                IS DISTINCT FROM (excluded.url, excluded.event_types, excluded.retry_window, excluded.batch_size)
            RETURNING id
            """)
        if let row = rows.first { return (try row.decode(at: 0), 1) }
        return (try conn.query("SELECT id FROM webhook_endpoint WHERE tenant_id = \(tenant) AND name = \(s.name)").one().decode(at: 0), 0)
    }

    public static func webhookGetSecret(_ conn: PostgresConnection, tenant: TenantID, id: Int64) throws -> [UInt8]? {
        try conn.query("SELECT secret FROM webhook_endpoint WHERE tenant_id = \(tenant) AND id = \(id)").one().decode(at: 0)
    }

    /// Writes the sealed secret; 1 when it changed.
    public static func webhookSetSecret(_ conn: PostgresConnection, tenant: TenantID, id: Int64, secret: [UInt8]) throws -> Int {
        try conn.execute("""
            UPDATE webhook_endpoint SET secret = \(secret), updated_at = now()
            WHERE tenant_id = \(tenant) AND id = \(id) AND secret IS DISTINCT FROM \(secret)::bytea
            """)
    }

    /// Secrets not sealed by the key whose header is `header`, for `mailroom secrets rotate`.
    public static func webhookListSealedNotBy(_ conn: PostgresConnection, tenant: TenantID, header: [UInt8], after: Int64?,
                                              limit: Int) throws -> [(id: Int64, sealed: [UInt8])] {
        try conn.query("""
            SELECT id, secret FROM webhook_endpoint
            WHERE tenant_id = \(tenant) AND id > \(after ?? 0) AND secret IS NOT NULL
              AND substr(secret, 1, \(header.count)) <> \(header)::bytea
            ORDER BY id LIMIT \(limit) FOR UPDATE
            """).map { (try $0.decode(at: 0), try $0.decode(at: 1)) }
    }

    /// Replaces the sealed secret by its re-sealed form, only if it still holds `old` (0 or 1 rows).
    public static func webhookResealSecret(_ conn: PostgresConnection, tenant: TenantID, id: Int64, old: [UInt8],
                                           new: [UInt8]) throws -> Int {
        try conn.execute("""
            UPDATE webhook_endpoint SET secret = \(new) WHERE tenant_id = \(tenant) AND id = \(id) AND secret = \(old)::bytea
            """)
    }

    /// Deletes the tenant's endpoints not named in `keep` (their delivery jobs go with them); returns
    /// the names deleted.
    public static func webhookDeleteOthers(_ conn: PostgresConnection, tenant: TenantID, keep: [String]) throws -> [String] {
        try conn.query("""
            DELETE FROM webhook_endpoint WHERE tenant_id = \(tenant) AND NOT (name = ANY (\(PostgresArray(keep))::text[]))
            RETURNING name
            """).map { try $0.decode(at: 0) }
    }
}
