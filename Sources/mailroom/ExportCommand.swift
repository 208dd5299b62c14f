import ArgumentParser
import Foundation
import MailCore
import MailHTML
import MailStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print a tenant's emails, open import failures, cases, follows, notifications and stream entries as JSON; never includes secrets.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Tenant slug.")
    var tenant: String

    @Flag(help: ArgumentHelp(
        "Also print each email's HTML as received (`body_html_original`): NOT safe to render.",
        discussion: "By default only `body_html` is printed: the sanitised copy (stored, or sanitised now when missing)."))
    var originalHTML = false

    func run() async throws {
        try global.bootstrapLogging()
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        let slug = tenant
        let document = try await pool.withConnection { conn -> String? in
            guard let t = try TenantQueries.tenantGetBySlug(conn, slug: slug) else { return nil }
            return try conn.transaction(tenant: t.id) {
                let emails = try emailsJSON(conn, tenant: t.id)
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

    /// Each email's JSON with its HTML added: `body_html` is the sanitised copy — stored, or made
    /// now with the tenant's `remote_images` when the column is NULL (an email queued through SQL
    /// and not yet picked up by a worker) — and `body_html_original` the HTML as received, only
    /// with `--original-html`.
    private func emailsJSON(_ conn: PostgresConnection, tenant: TenantID) throws -> [String] {
        let emails = try ExportQueries.emailExportJSON(conn, tenant: tenant)
        var sanitizer: HTMLSanitizer?
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try emails.map { e in
            var safe = e.bodyHTMLSafe
            if safe == nil, let html = e.bodyHTML {
                if sanitizer == nil { sanitizer = HTMLSanitizer(remoteImages: try TenantQueries.tenantRemoteImages(conn, tenant: tenant)) }
                safe = sanitizer!.sanitize(html: html, textBody: e.bodyText).html
            }
            var extra = ",\"body_html\":" + String(decoding: try encoder.encode(safe), as: UTF8.self)
            if originalHTML { extra += ",\"body_html_original\":" + String(decoding: try encoder.encode(e.bodyHTML), as: UTF8.self) }
            return String(e.json.dropLast()) + extra + "}"
        }
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
