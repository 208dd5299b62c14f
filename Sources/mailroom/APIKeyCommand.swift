import ArgumentParser
import Foundation
import MailCore
import MailCrypto
import MailStore

/// `mailroom api-key …`: keys of the events pull API (docs/api.md). A key is shown once, when it is
/// made; only a hash of its secret is stored.
struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key",
        abstract: "Create, list and revoke a tenant's keys of the events API.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Make a new key and print it once (store it in the CRM's secrets; it cannot be shown again).")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "Name of the key, unique among the tenant's live keys (letters, digits, . _ -).") var name: String

        func validate() throws {
            guard APIKey.isValidName(name) else {
                throw ValidationError("--name: letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit, at most 63")
            }
        }

        func run() async throws {
            try global.bootstrapLogging()
            let key = APIKey.generate()
            let name = self.name, slug = tenant
            try await APIKeyCommand.inTenant(global, tenant) { conn, t in
                if try APIKeyQueries.apiKeyGetLive(conn, tenant: t, name: name) != nil {
                    throw ValidationError("tenant \(slug) already has a live API key named \(name); revoke it first or choose another name")
                }
                try APIKeyQueries.apiKeyCreate(conn, tenant: t, name: name, keyID: key.keyID, secretHash: key.secretHash, managedBy: .cli)
            }
            // The only place the whole key is ever written: stdout, for the operator.
            print(key.text.value)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List a tenant's keys (never their secrets).")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Tenant slug.") var tenant: String

        func run() async throws {
            try global.bootstrapLogging()
            let keys = try await APIKeyCommand.inTenant(global, tenant) { conn, t in try APIKeyQueries.apiKeyList(conn, tenant: t) }
            let time = Date.ISO8601FormatStyle()
            var rows = [["name", "key id", "managed by", "created", "last used", "revoked"]]
            rows += keys.map { k in
                [k.name, k.keyID, k.managedBy.rawValue, k.createdAt.formatted(time), k.lastUsedAt?.formatted(time) ?? "",
                 k.revokedAt?.formatted(time) ?? ""]
            }
            print(TextTable.render(rows))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke", abstract: "Revoke a tenant's live key by name; requests with it fail at once.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "Name of the key.") var name: String

        func run() async throws {
            try global.bootstrapLogging()
            let name = self.name
            let revoked = try await APIKeyCommand.inTenant(global, tenant) { conn, t in
                try APIKeyQueries.apiKeyRevoke(conn, tenant: t, name: name)
            }
            guard revoked > 0 else { throw ValidationError("tenant \(tenant) has no live API key named \(name)") }
            print("revoked API key \(name) of tenant \(tenant)")
        }
    }

    /// Runs `body` in one transaction scoped to the tenant with slug `slug`, after the schema is current.
    static func inTenant<T: Sendable>(_ global: GlobalOptions, _ slug: String,
                                      _ body: @escaping @Sendable (PostgresConnection, TenantID) throws -> T) async throws -> T {
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        _ = try await MigrateCommand.migrate(pool: pool, directory: global.migrations)
        return try await pool.withConnection { conn in
            guard let t = try TenantQueries.tenantGetBySlug(conn, slug: slug) else {
                throw ValidationError("no tenant with slug \(slug)")
            }
            return try conn.transaction(tenant: t.id) { try body(conn, t.id) }
        }
    }
}
