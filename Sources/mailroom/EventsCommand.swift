import ArgumentParser
import MailStore

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Events for the host CRM (docs/events.md, docs/webhooks.md).",
        subcommands: [ReplayCommand.self])

    struct ReplayCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay",
            abstract: "Send a webhook endpoint's events again from a sequence number: its cursor moves to N-1, and a "
                + "disabled endpoint is enabled again with its failures cleared. The running workers deliver.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Tenant slug.")
        var tenant: String

        @Option(help: "The webhook endpoint's name (webhooks[].name in the manifest).")
        var endpoint: String

        @Option(help: "The first sequence number to send again (1 or more).")
        var from: Int64

        func validate() throws {
            guard from >= 1 else { throw ValidationError("--from must be a sequence number (1 or more)") }
        }

        func run() async throws {
            try global.bootstrapLogging()
            let pool = try global.makePool(connections: 1)
            defer { pool.close() }
            let (slug, name, first) = (tenant, endpoint, from)
            let found = try await pool.withConnection { conn -> Bool? in
                guard let t = try TenantQueries.tenantGetBySlug(conn, slug: slug) else { return nil }
                return try conn.transaction(tenant: t.id) { try WebhookQueries.webhookReplay(conn, tenant: t.id, name: name, from: first) }
            }
            switch found {
            case nil: throw ValidationError("no tenant \"\(tenant)\"")
            case false?: throw ValidationError("no webhook endpoint \"\(endpoint)\" in tenant \"\(tenant)\"")
            case true?: print("webhook \(endpoint) of \(tenant): events from \(from) will be sent again")
            }
        }
    }
}
