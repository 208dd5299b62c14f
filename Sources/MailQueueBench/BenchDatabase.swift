import Foundation
import MailCore
import MailStore
import MailTesting

/// A fresh database on the test server for one benchmark, dropped when the benchmark ends, so a
/// benchmark never sees (or polls) anything but its own rows.
final class BenchDatabase: Sendable {
    let url: String
    let name: String
    let pool: PostgresPool

    /// Creates the database; with `migrated`, applies Mailroom's migrations.
    static func make(migrated: Bool, connections: Int = 8) async throws -> BenchDatabase {
        if migrated {
            let (url, name, pool) = try await TestDatabase.createMigratedDatabase(connections: connections, applicationName: "mailroom-bench")
            return BenchDatabase(url: url, name: name, pool: pool)
        }
        let (url, name) = try await TestDatabase.createDatabase()
        let pool = PostgresPool(.init(conninfo: url, maxConnections: connections, applicationName: "mailroom-bench"))
        return BenchDatabase(url: url, name: name, pool: pool)
    }

    private init(url: String, name: String, pool: PostgresPool) {
        self.url = url
        self.name = name
        self.pool = pool
    }

    func drop() async {
        pool.close()
        try? await TestDatabase.dropDatabase(name)
    }

    func makeTenants(_ count: Int, prefix: String) async throws -> [TenantID] {
        try await pool.withConnection { conn in
            try conn.query("""
                INSERT INTO tenant (slug, name)
                SELECT \(prefix) || '-' || i, \(prefix) || ' ' || i FROM generate_series(0, \(count) - 1) AS i
                RETURNING id
                """).map { try $0.decode(TenantID.self, at: 0) }
        }
    }

    /// Empties the queue and enqueues `count` one-off jobs of `kind`, round-robin over `tenants`, in
    /// one statement; then vacuums so every run starts from the same table state.
    func refillQueue(kind: String, count: Int, tenants: [TenantID]) async throws {
        let ids = PostgresArray(tenants.map(\.rawValue))
        try await pool.withConnection { conn in
            try conn.execute("TRUNCATE job")
            try conn.execute("INSERT INTO job_tenant_turn (tenant_id) SELECT unnest(\(ids)::bigint[]) ON CONFLICT DO NOTHING")
            try conn.execute("UPDATE job_tenant_turn SET last_claimed_at = '-infinity'")
            try conn.execute("""
                INSERT INTO job (tenant_id, kind, run_at)
                SELECT (\(ids)::bigint[])[1 + i % cardinality(\(ids)::bigint[])], \(kind), now() - interval '1 second'
                FROM generate_series(0, \(count) - 1) AS i
                """)
            try conn.execute("VACUUM ANALYZE job")
            try conn.execute("VACUUM ANALYZE job_tenant_turn")
        }
    }

    func count(_ sql: SQL) async throws -> Int {
        try await pool.withConnection { try $0.query(sql).one().decode(Int.self, at: 0) }
    }

    func doneJobs() async throws -> Int { try await count("SELECT count(*) FROM job WHERE state = 'done'") }
}
