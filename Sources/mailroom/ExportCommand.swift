import ArgumentParser
import Foundation
import MailStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print a tenant's emails (and open import failures) as JSON; never includes secrets.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Tenant slug.")
    var tenant: String

    func run() async throws {
        global.bootstrapLogging()
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        let slug = tenant
        let document = try await pool.withConnection { conn -> String? in
            guard let t = try TenantQueries.tenantGetBySlug(conn, slug: slug) else { return nil }
            return try conn.transaction(tenant: t.id) {
                let emails = try ExportQueries.emailExportJSON(conn, tenant: t.id)
                let failures = try ExportQueries.importFailureExport(conn, tenant: t.id)
                let filters = try EmailFilterQueries.emailFilterExport(conn, tenant: t.id)
                let personal = try ExportQueries.personalAccountExport(conn, tenant: t.id)
                let slugJSON = String(decoding: try JSONEncoder().encode(t.slug), as: UTF8.self)
                return "{\"tenant\":\(slugJSON),\"emails\":[\n" + emails.joined(separator: ",\n") +
                    "\n],\"import_failures\":[\n" + failures.joined(separator: ",\n") +
                    "\n],\"personal_accounts\":[\n" + personal.joined(separator: ",\n") +
                    "\n],\"filters\":[\n" + filters.joined(separator: ",\n") + "\n]}"
            }
        }
        guard let document else { throw ValidationError("no tenant \"\(tenant)\"") }
        print(document)
    }
}
