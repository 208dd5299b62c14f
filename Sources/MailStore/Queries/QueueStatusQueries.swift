import MailCore

/// Read-only views of the queue for `mailroom status` and the metrics gauges. The queue tables are
/// readable across tenants by the service role (see 0002_jobs.sql); tenant names come from `tenant`.
public enum QueueStatusQueries {
    public struct TenantQueue: Sendable, Equatable, Codable {
        public var tenant: String
        /// Ready jobs already due.
        public var due: Int
        public var running: Int
        /// Ready jobs scheduled for later.
        public var scheduled: Int
        public var failed: Int
        /// How long the most overdue ready job (any kind) has waited past its run_at.
        public var maxLagSeconds: Double
        /// How long the most overdue ready `poll` job has waited past its run_at.
        public var pollLagSeconds: Double

        public init(tenant: String, due: Int = 0, running: Int = 0, scheduled: Int = 0, failed: Int = 0,
                    maxLagSeconds: Double = 0, pollLagSeconds: Double = 0) {
            self.tenant = tenant
            self.due = due
            self.running = running
            self.scheduled = scheduled
            self.failed = failed
            self.maxLagSeconds = maxLagSeconds
            self.pollLagSeconds = pollLagSeconds
        }
    }

    /// Queue counters of every active tenant (zeros for a tenant with no jobs), or of one tenant
    /// whatever its state. One aggregate over `job`: cheap enough for every replica every few seconds.
    public static func queueDepthByTenant(_ conn: PostgresConnection, tenant: TenantID? = nil) throws -> [TenantQueue] {
        try conn.query("""
            SELECT t.slug,
                   count(j.id) FILTER (WHERE j.state = 'ready' AND j.run_at <= now()),
                   count(j.id) FILTER (WHERE j.state = 'running'),
                   count(j.id) FILTER (WHERE j.state = 'ready' AND j.run_at > now()),
                   count(j.id) FILTER (WHERE j.state = 'failed'),
                   coalesce(extract(epoch FROM now() - min(j.run_at) FILTER (WHERE j.state = 'ready' AND j.run_at <= now())), 0)::float8,
                   coalesce(extract(epoch FROM now() - min(j.run_at) FILTER (WHERE j.state = 'ready' AND j.run_at <= now()
                                                                               AND j.kind = 'poll')), 0)::float8
            FROM tenant t LEFT JOIN job j ON j.tenant_id = t.id
            WHERE (\(tenant)::bigint IS NULL AND t.is_active) OR t.id = \(tenant)::bigint
            GROUP BY t.slug ORDER BY t.slug
            """).map {
            TenantQueue(tenant: try $0.decode(at: 0), due: try $0.decode(at: 1), running: try $0.decode(at: 2),
                        scheduled: try $0.decode(at: 3), failed: try $0.decode(at: 4), maxLagSeconds: try $0.decode(at: 5),
                        pollLagSeconds: try $0.decode(at: 6))
        }
    }
}
