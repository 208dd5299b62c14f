import ArgumentParser
import MailStore

struct PollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Ask the running workers to poll an account now (its scheduled poll moves to now).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Tenant slug.")
    var tenant: String

    @Argument(help: "Account name or address.")
    var account: String

    func run() async throws {
        try global.bootstrapLogging()
        // The workers connect, but a malformed outbound setting is reported here too, before queueing.
        _ = try global.outboundSettings()
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        let (slug, name) = (tenant, account)
        let queued = try await pool.withConnection { conn -> Int? in
            guard let t = try TenantQueries.tenantGetBySlug(conn, slug: slug) else { return nil }
            return try conn.transaction(tenant: t.id) { () -> Int? in
                guard let id = try MailAccountQueries.mailAccountFind(conn, tenant: t.id, nameOrAddress: name) else { return nil }
                // Wakes idle workers at commit (mailroom_enqueue_jobs) instead of at their next check.
                return try PollScheduleQueries.pollScheduleNow(conn, tenant: t.id, account: id)
            }
        }
        guard let queued else { throw ValidationError("no account \"\(account)\" in tenant \"\(tenant)\"") }
        print("poll requested for \(queued) folder(s) of \(account)")
    }
}
