import ArgumentParser
import Foundation
import Logging
import MailStore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations and changed functions, then grant the service and CRM roles their access (safe to run from several replicas at once).",
        discussion: "Role names: MAILROOM_SERVICE_ROLE (default mailroom_service) and MAILROOM_CRM_ROLE (default mailroom_crm). See docs/security.md.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try global.bootstrapLogging()
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        let applied = try await Self.migrate(pool: pool, directory: global.migrations)
        print(applied.isEmpty ? "schema is up to date" : "applied: " + applied.joined(separator: ", "))
    }

    static func migrate(pool: PostgresPool, directory: String?) async throws -> [String] {
        guard let dir = directory ?? Migrator.defaultDirectory() else {
            throw ValidationError("no migrations directory found; pass --migrations DIR or set MAILROOM_MIGRATIONS")
        }
        let migrator = try Migrator(directory: dir, roles: try DatabaseRoles.fromEnvironment(ProcessInfo.processInfo.environment))
        return try await pool.withConnection { try migrator.apply(on: $0) }
    }
}
