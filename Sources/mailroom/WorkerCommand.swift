import ArgumentParser
import Foundation
import Logging
import MailCrypto
import MailStore
import MailWorker

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Import new mail from every active account into the database.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Poll every account until nothing new remains, print a summary and exit.")
    var untilIdle = false

    @Option(help: "Accounts polled at once.")
    var concurrency = 4

    @Option(help: "Messages stored per transaction (the cursor moves once per batch).")
    var batchSize = 50

    @Option(name: .customLong("tenant"), help: "Only poll this tenant (repeatable); default: every active tenant.")
    var tenants: [String] = []

    @Option(help: "Seconds between passes when running continuously.")
    var interval = 10

    func run() async throws {
        global.bootstrapLogging()
        let logger = Logger(label: "mailroom.worker")
        let pool = try global.makePool(connections: max(2, concurrency * 2))
        defer { pool.close() }
        _ = try await MigrateCommand.migrate(pool: pool, directory: global.migrations)
        var settings = ImportSettings()
        settings.batchSize = max(1, batchSize)
        let runner = ImportRunner(pool: pool, secrets: SecretBox(key: try global.resolveSecretKey()), settings: settings, logger: logger)
        if untilIdle {
            let reports = try await runner.runUntilIdle(concurrency: concurrency, only: tenants.isEmpty ? nil : Set(tenants))
            try await printSummary(reports, pool: pool, only: Set(tenants))
            return
        }
        logger.info("worker started", metadata: ["concurrency": "\(concurrency)"])
        while !Task.isCancelled {
            _ = try await runner.runUntilIdle(concurrency: concurrency, only: tenants.isEmpty ? nil : Set(tenants))
            try await Task.sleep(for: .seconds(interval))
        }
    }

    /// A table of what this run did, with each folder's stored totals and any error.
    private func printSummary(_ reports: [ImportReport], pool: PostgresPool, only: Set<String>) async throws {
        let tenants = try await pool.withConnection { try TenantQueries.tenantListActive($0) }
            .filter { only.isEmpty || only.contains($0.slug) }
        var rows: [[String]] = [["tenant", "account", "folder", "new", "linked", "failed", "stored", "error"]]
        for t in tenants {
            let summary = try await pool.transaction(tenant: t.id) { try ExportQueries.folderSummary($0, tenant: t.id) }
            for s in summary {
                let r = reports.first { $0.folderID == s.folderID }
                rows.append([s.tenant, s.account, s.folder, "\(r?.imported ?? 0)", "\(r?.linkedExisting ?? 0)",
                             "\(s.failures)", "\(s.emails)", s.lastError.map { String($0.prefix(60)) } ?? ""])
            }
        }
        print(TextTable.render(rows))
    }
}

/// Plain fixed-width table for terminal summaries.
enum TextTable {
    static func render(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.dropFirst().map(line)).joined(separator: "\n")
    }
}
