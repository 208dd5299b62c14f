import Foundation
import MailCore
import MailStore

/// The real PostgreSQL that tests run against (`MAILROOM_TEST_DATABASE_URL`, set by
/// `scripts/testenv.sh`). Tests share one migrated database and isolate themselves by tenant: each
/// test creates tenants with unique slugs, and row-level security keeps their rows apart. Tests of
/// migrations get a fresh database of their own.
public enum TestDatabase {
    public struct MissingEnvironment: Error, CustomStringConvertible {
        public var description: String {
            "MAILROOM_TEST_DATABASE_URL is not set: run the tests through `make test` (it starts PostgreSQL)"
        }
    }

    public static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["MAILROOM_TEST_DATABASE_URL"], !url.isEmpty else {
            throw MissingEnvironment()
        }
        return url
    }

    /// The repository's `migrations/` directory, found relative to this source file.
    public static var migrationsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../migrations").standardized.path
    }

    private actor Shared {
        var pool: PostgresPool?
        func get() async throws -> PostgresPool {
            if let pool { return pool }
            let p = PostgresPool(.init(conninfo: try TestDatabase.url(), maxConnections: 12, applicationName: "mailroom-tests"))
            let migrator = try Migrator(directory: TestDatabase.migrationsDirectory)
            _ = try await p.withConnection { try migrator.apply(on: $0) }
            pool = p
            return p
        }
    }
    private static let shared = Shared()

    /// A pool on the shared test database, migrated once per process.
    public static func pool() async throws -> PostgresPool { try await shared.get() }

    /// The roles `scripts/testenv.sh` creates beside the owner, with their passwords in the env file:
    /// tests hold the security promises as these roles log in, not as the owner (docs/security.md).
    public enum Role: String, Sendable {
        case service = "SERVICE"
        case crm = "CRM"
        public var name: String { self == .service ? DatabaseRoles.standard.service : DatabaseRoles.standard.crm }
    }

    /// `databaseURL` (the owner's, by default the shared test database) logged in as `role` instead.
    public static func url(as role: Role, databaseURL: String? = nil) throws -> String {
        guard let password = ProcessInfo.processInfo.environment["MAILROOM_TEST_\(role.rawValue)_PASSWORD"], !password.isEmpty,
              var comps = URLComponents(string: try databaseURL ?? url()) else { throw MissingEnvironment() }
        comps.user = role.name
        comps.password = password
        return comps.string!
    }

    /// A pool on the shared test database (migrated first) logged in as `role`.
    public static func pool(as role: Role, connections: Int = 4) async throws -> PostgresPool {
        _ = try await pool()
        return PostgresPool(.init(conninfo: try url(as: role), maxConnections: connections, applicationName: "mailroom-tests-\(role.name)"))
    }

    /// A unique slug for a test's tenant: `prefix-<random>`.
    public static func uniqueSlug(_ prefix: String) -> String {
        let clean = prefix.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" }
        return "\(clean.prefix(40))-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// Creates a bare tenant and returns its id.
    public static func makeTenant(_ prefix: String, in pool: PostgresPool) async throws -> (TenantID, String) {
        let slug = uniqueSlug(prefix)
        let id = try await pool.withConnection { conn in
            try conn.query("INSERT INTO tenant (slug, name) VALUES (\(slug), \(slug)) RETURNING id").one().decode(TenantID.self, at: 0)
        }
        return (id, slug)
    }

    /// A brand-new empty database owned by the test role, for tests of migrations themselves.
    /// Returns its URL; call `dropDatabase` when done.
    public static func createDatabase() async throws -> (url: String, name: String) {
        let name = "mr_test_\(UInt32.random(in: 0...UInt32.max))"
        let pool = try await self.pool()
        _ = try await pool.withConnection { try $0.execute(SQL(unsafeSQL: "CREATE DATABASE \(name)")) }
        return (try replacingDatabase(in: url(), with: name), name)
    }

    /// A brand-new database with Mailroom's migrations applied, and a pool on it: for tests and
    /// benchmarks that run worker processes, which must see only their own tenants.
    public static func createMigratedDatabase(connections: Int = 6, applicationName: String = "mailroom-tests")
        async throws -> (url: String, name: String, pool: PostgresPool) {
        let (url, name) = try await createDatabase()
        let pool = PostgresPool(.init(conninfo: url, maxConnections: connections, applicationName: applicationName))
        let migrator = try Migrator(directory: migrationsDirectory)
        _ = try await pool.withConnection { try migrator.apply(on: $0) }
        return (url, name, pool)
    }

    public static func dropDatabase(_ name: String) async throws {
        let pool = try await self.pool()
        _ = try await pool.withConnection { try $0.execute(SQL(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
    }

    static func replacingDatabase(in url: String, with name: String) throws -> String {
        guard var comps = URLComponents(string: url) else { throw MissingEnvironment() }
        comps.path = "/" + name
        return comps.string!
    }
}

