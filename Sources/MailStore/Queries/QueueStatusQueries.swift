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
        /// How long the most overdue ready job has waited past its run_at.
        public var maxLagSeconds: Double
    }

    public static func queueDepthByTenant(_ conn: PostgresConnection) throws -> [TenantQueue] {
        try conn.query("""
            SELECT t.slug,
                   count(*) FILTER (WHERE j.state = 'ready' AND j.run_at <= now()),
                   count(*) FILTER (WHERE j.state = 'running'),
                   count(*) FILTER (WHERE j.state = 'ready' AND j.run_at > now()),
                   count(*) FILTER (WHERE j.state = 'failed'),
                   coalesce(extract(epoch FROM now() - min(j.run_at) FILTER (WHERE j.state = 'ready' AND j.run_at <= now())), 0)::float8
            FROM tenant t JOIN job j ON j.tenant_id = t.id
            GROUP BY t.slug ORDER BY t.slug
            """).map {
            TenantQueue(tenant: try $0.decode(at: 0), due: try $0.decode(at: 1), running: try $0.decode(at: 2),
                        scheduled: try $0.decode(at: 3), failed: try $0.decode(at: 4), maxLagSeconds: try $0.decode(at: 5))
        }
    }
}
