import ArgumentParser
import Foundation
import MailCore
import MailStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print a tenant's emails, open import failures, cases, follows, notifications and stream entries as JSON; never includes secrets.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Tenant slug.")
    var tenant: String

    func run() async throws {
        try global.bootstrapLogging()
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
                let crm = try crmSections(conn, tenant: t.id)
                let slugJSON = String(decoding: try JSONEncoder().encode(t.slug), as: UTF8.self)
                return "{\"tenant\":\(slugJSON),\"emails\":[\n" + emails.joined(separator: ",\n") +
                    "\n],\"import_failures\":[\n" + failures.joined(separator: ",\n") +
                    "\n],\"personal_accounts\":[\n" + personal.joined(separator: ",\n") +
                    "\n],\"filters\":[\n" + filters.joined(separator: ",\n") + "\n]," + crm + "}"
            }
        }
        guard let document else { throw ValidationError("no tenant \"\(tenant)\"") }
        print(document)
    }

    /// Cases, follows, notifications and stream entries, one JSON object per line in each array.
    private func crmSections(_ conn: PostgresConnection, tenant: TenantID) throws -> String {
        let sections: [(String, [String])] = [
            ("cases", try ExportQueries.caseExportJSON(conn, tenant: tenant)),
            ("follows", try ExportQueries.followExportJSON(conn, tenant: tenant)),
            ("notifications", try ExportQueries.notificationExportJSON(conn, tenant: tenant)),
            ("stream", try ExportQueries.streamExportJSON(conn, tenant: tenant)),
        ]
        return sections.map { "\"\($0.0)\":[\n" + $0.1.joined(separator: ",\n") + "\n]" }.joined(separator: ",")
    }
}
