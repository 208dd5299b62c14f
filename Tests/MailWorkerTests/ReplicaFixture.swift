import Foundation
import MailCore
import MailStore
import MailTesting

/// A fresh database of its own and `mailroom worker` processes against it: replica tests must not
/// see (or poll) the other tests' tenants.
final class ReplicaFixture: @unchecked Sendable {
    let url: String
    let name: String
    let pool: PostgresPool
    private(set) var replicas: [Process] = []

    static func make() async throws -> ReplicaFixture {
        let (url, name, pool) = try await TestDatabase.createMigratedDatabase(applicationName: "replica-test")
        return ReplicaFixture(url: url, name: name, pool: pool)
    }

    private init(url: String, name: String, pool: PostgresPool) {
        self.url = url
        self.name = name
        self.pool = pool
    }

    @discardableResult
    func startReplica(slots: Int = 4, perTenantCap: Int = 4, lease: Int = 30, logTo: String? = nil,
                      metricsPort: Int? = nil, extraArguments: [String] = [], environment: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MailroomBinary.path)
        // As the service role, as deployed (docs/security.md): its rights must be enough for all of it.
        p.arguments = ["worker", "--database-url", try TestDatabase.url(as: .service, databaseURL: url), "--migrations", TestDatabase.migrationsDirectory,
                       "--concurrency", "\(slots)", "--per-tenant-cap", "\(perTenantCap)", "--lease", "\(lease)",
                       "--shutdown-deadline", "5", "--log-level", "warning"]
        if let metricsPort { p.arguments! += ["--metrics-port", "\(metricsPort)"] }
        p.arguments! += extraArguments
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.standardOutput = FileHandle.nullDevice
        if let logTo {
            _ = FileManager.default.createFile(atPath: logTo, contents: nil)
            p.standardError = FileHandle(forWritingAtPath: logTo)
        } else {
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        replicas.append(p)
        return p
    }

    /// SIGTERM to every replica still running; returns their exit statuses.
    func stopAll() -> [Int32] {
        for p in replicas where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        return replicas.map { $0.waitUntilExit(); return $0.terminationStatus }
    }

    /// A test that fails before its `tearDown` still stops its replicas: the fixture goes out of
    /// scope with the test, and no worker outlives it.
    deinit {
        for p in replicas where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
    }

    func tearDown() async {
        for p in replicas where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        pool.close()
        try? await TestDatabase.dropDatabase(name)
    }

    func makeTenant(_ slug: String) async throws -> TenantID {
        try await pool.withConnection { conn in
            try conn.query("INSERT INTO tenant (slug, name) VALUES (\(slug), \(slug)) RETURNING id").one().decode(TenantID.self, at: 0)
        }
    }

    /// Enqueues `count` trace jobs for a tenant in one transaction, then wakes the replicas.
    func enqueueTraceJobs(_ tenant: TenantID, count: Int, file: String, sleepMilliseconds: Int = 0) async throws -> [Int64] {
        let payload = "{\"file\": \"\(file)\", \"sleepMilliseconds\": \(sleepMilliseconds)}"
        return try await pool.transaction(tenant: tenant) { conn in
            var ids: [Int64] = []
            for _ in 0..<count { ids.append(try JobQueries.jobEnqueue(conn, tenant: tenant, kind: "trace", payload: payload, maxAttempts: 5)) }
            try conn.execute("SELECT pg_notify('mailroom_jobs', '')")
            return ids
        }
    }

    func count(_ sql: String) async throws -> Int {
        try await pool.withConnection { try $0.query(SQL(unsafeSQL: sql)).one().decode(Int.self, at: 0) }
    }

    /// Waits until `condition` holds, or fails after `timeout`.
    func waitUntil(timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
        guard try await Eventually.until(timeout: timeout, interval: .milliseconds(50), condition) else { throw WaitTimeout(what: what) }
    }

    struct WaitTimeout: Error, CustomStringConvertible {
        var what: String
        var description: String { "timed out waiting for \(what)" }
    }

    static func traceLines(_ file: String) -> [(id: Int64, attempt: Int)] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let id = Int64(parts[0]), let a = Int(parts[1]) else { return nil }
            return (id, a)
        }
    }
}
