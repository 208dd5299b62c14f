import ArgumentParser
import Logging
import MailStore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations (safe to run from several replicas at once).")

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
        let migrator = try Migrator(directory: dir)
        return try await pool.withConnection { try migrator.apply(on: $0) }
    }
}
