import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailMetricsHTTP
import MailStore
import MailWorker
import Metrics
import ServiceLifecycle

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Import new mail from every active account into the database.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Poll every account until nothing new remains, print a summary and exit.")
    var untilIdle = false

    @Option(help: "Job slots of this replica (with --until-idle: accounts polled at once).")
    var concurrency = 4

    @Option(help: "Most jobs of one tenant running at once across all replicas.")
    var perTenantCap = 4

    @Option(help: "Seconds a claimed job's lease lasts without a heartbeat; a dead replica's jobs return after it.")
    var lease = 30

    @Option(help: "Seconds in-flight jobs get to finish on SIGTERM before they are handed back.")
    var shutdownDeadline = 20

    @Option(help: "Messages stored per transaction (the cursor moves once per batch).")
    var batchSize = 50

    @Option(help: "Logged-in IMAP connections this replica keeps open between polls (0: connect for every poll).")
    var imapIdleSessions = 256

    @Option(help: "Seconds an idle IMAP connection is kept before it is closed.")
    var imapIdleSeconds = 300

    @Option(help: ArgumentHelp(
        "Most SMTP connections this replica opens to one account at once (1–20).",
        discussion: "An account's smtp.max_connections (default 3) lowers it for that account."))
    var smtpConnectionsPerAccount = WorkerServices.defaultSMTPConnectionsPerAccount

    @Option(name: .customLong("tenant"), help: "Only poll this tenant (repeatable); default: every active tenant.")
    var tenants: [String] = []

    @Option(help: "Serve Prometheus metrics at GET /metrics on this port (0: a free port, logged); off when absent.")
    var metricsPort: Int?

    @Option(help: "Address the metrics endpoint binds to.")
    var metricsHost = "127.0.0.1"

    @Option(help: ArgumentHelp(
        "Serve the OAuth login callback at GET /oauth/callback on this port (0: a free port, logged); off when absent.",
        discussion: "Needs MAILROOM_PUBLIC_URL (the URL browsers reach this server at) and MAILROOM_OAUTH_RETURN_URLS."))
    var oauthCallbackPort: Int?

    @Option(help: "Address the OAuth callback binds to (put a TLS-terminating proxy in front of it).")
    var oauthCallbackHost = "127.0.0.1"

    @Option(help: ArgumentHelp(
        "Serve the events pull API at GET /v1/events on this port (0: a free port, logged); off when absent.",
        discussion: "Clients authenticate with a tenant's API key (`mailroom api-key create`); see docs/api.md."))
    var apiPort: Int?

    @Option(help: "Address the events API binds to (put a TLS-terminating proxy in front of it).")
    var apiHost = "127.0.0.1"

    func validate() throws {
        let range = WorkerServices.smtpConnectionsRange
        guard range.contains(smtpConnectionsPerAccount) else {
            throw ValidationError("--smtp-connections-per-account must be between \(range.lowerBound) and \(range.upperBound), "
                + "not \(smtpConnectionsPerAccount)")
        }
    }

    func run() async throws {
        try global.bootstrapLogging()
        // Checked before anything runs: an unknown value stops the worker at once.
        _ = try TraceExport.parse(global.environment)
        let (policy, limits) = try global.outboundSettings()
        let logger = Logger(label: "mailroom.worker")
        let pool = try global.makePool(connections: max(2, concurrency * 2))
        defer { pool.close() }
        _ = try await MigrateCommand.migrate(pool: pool, directory: global.migrations)
        var settings = ImportSettings()
        settings.batchSize = max(1, batchSize)
        let keyring = try global.resolveKeyring()
        settings.recordTokenKeys = keyring
        settings.outboundPolicy = policy
        settings.setLimits(limits)
        let runner = ImportRunner(pool: pool, secrets: SecretBox(keyring: keyring), settings: settings, logger: logger)
        if untilIdle {
            let reports = try await runner.runUntilIdle(concurrency: concurrency, only: tenants.isEmpty ? nil : Set(tenants))
            let failed = try await printSummary(reports, pool: pool, only: Set(tenants))
            // A run that could not poll some folder must not look like success to a script or a
            // scheduler: name each one on stderr and exit non-zero.
            if !failed.isEmpty {
                for line in failed { FileHandle.standardError.write(Data("poll failed: \(line)\n".utf8)) }
                throw ExitCode.failure
            }
            return
        }
        var config = JobRunnerConfiguration()
        config.slots = max(1, concurrency)
        config.perTenantCap = max(1, perTenantCap)
        config.shutdownDeadline = .seconds(shutdownDeadline)
        config.lease = .seconds(max(2, lease))
        config.heartbeatEvery = .seconds(max(1, lease / 3))
        let conninfo = try global.resolveDatabase()
        var sessions = IMAPSessionCache.Configuration()
        sessions.maxIdle = max(0, imapIdleSessions)
        sessions.idleExpiry = .seconds(max(1, imapIdleSeconds))
        let worker = WorkerServices(pool: pool, conninfo: conninfo, secrets: SecretBox(keyring: keyring),
                                    runnerConfig: config, importSettings: settings, sessionConfig: sessions,
                                    smtpConnectionsPerAccount: smtpConnectionsPerAccount,
                                    idleTiming: IdleWakeUps.defaultTiming, logger: logger)
        var services = worker.services
        // The global API lands in this replica's registry too (once per process).
        MetricsSystem.bootstrap(worker.metrics.factory)
        if let traces = try TraceExport.bootstrap(global.environment) {
            // First in the group, so shut down last (the group stops services in reverse order): the
            // spans of jobs that finish during shutdown are still exported.
            services.insert(traces, at: 0)
            logger.notice("exporting traces", metadata: ["exporter": "\(TraceExport.otlpHTTP.rawValue)"])
        }
        if let metricsPort {
            let metrics = worker.metrics
            let server = MetricsServer(host: metricsHost, port: metricsPort, logger: logger) { metrics.render() }
            let host = metricsHost
            services.append(server.application { port in
                logger.notice("serving metrics", metadata: ["address": "http://\(host):\(port)/metrics"])
            })
        }
        if let oauthCallbackPort {
            services.append(try await oauthCallbackService(port: oauthCallbackPort, pool: pool, keyring: keyring, policy: policy, logger: logger))
        }
        if let apiPort {
            let wakeUps = EventWakeUps(conninfo: conninfo, logger: logger)
            let api = EventsAPI(pool: pool, wakeUps: wakeUps, logger: logger)
            let server = EventsAPIServer(host: apiHost, port: apiPort, logger: logger) { authorization, query in
                let answer = await api.events(authorization: authorization, query: query)
                return (answer.status, answer.json)
            }
            let host = apiHost
            services.append(server.application { port in
                logger.notice("serving the events API", metadata: ["address": "http://\(host):\(port)\(EventsAPIServer.eventsPath)"])
            })
            // After the server: stopped first, it releases the waiting requests (EventWakeUps).
            services.append(wakeUps)
        }
        logger.info("worker started", metadata: ["owner": "\(config.owner)", "slots": "\(config.slots)"])
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("worker stopped")
    }

    /// The `/oauth/callback` server. Its settings are checked before anything is served (a missing or
    /// malformed one stops the worker) and published for `mailroom_oauth_begin`.
    private func oauthCallbackService(port: Int, pool: PostgresPool, keyring: SecretKeyring, policy: OutboundPolicy,
                                      logger: Logger) async throws -> any Service {
        let settings: OAuthCallbackSettings
        do {
            settings = try OAuthCallbackSettings.parse(publicURL: global.environment["MAILROOM_PUBLIC_URL"],
                                                       returnURLs: global.environment["MAILROOM_OAUTH_RETURN_URLS"])
        } catch {
            throw ValidationError("--oauth-callback-port: \(error)")
        }
        let callback = OAuthCallback(pool: pool, keyring: keyring, policy: policy, settings: settings, logger: logger)
        try await callback.publishSettings()
        let server = OAuthCallbackServer(host: oauthCallbackHost, port: port, logger: logger) { query in
            let page = await callback.handle(query: query)
            return .init(status: page.status, location: page.location, html: page.html)
        }
        let host = oauthCallbackHost
        return server.application { bound in
            logger.notice("serving the OAuth callback", metadata: ["address": "http://\(host):\(bound)\(OAuthCallbackServer.path)",
                                                                   "redirect_uri": "\(settings.redirectURI)"])
        }
    }

    /// A table of what this run did, with each folder's stored totals and any error. Returns one
    /// line (`tenant/account/folder: error`) per folder whose poll failed in this run.
    private func printSummary(_ reports: [ImportReport], pool: PostgresPool, only: Set<String>) async throws -> [String] {
        var failed: [String] = []
        let tenants = try await pool.withConnection { try TenantQueries.tenantListActive($0) }
            .filter { only.isEmpty || only.contains($0.slug) }
        var rows: [[String]] = [["tenant", "account", "folder", "new", "linked", "failed", "stored", "error"]]
        for t in tenants {
            let summary = try await pool.transaction(tenant: t.id) { try ExportQueries.folderSummary($0, tenant: t.id) }
            for s in summary {
                let r = reports.first { $0.folderID == s.folderID }
                if let error = r?.error { failed.append("\(s.tenant)/\(s.account)/\(s.folder): \(error)") }
                rows.append([s.tenant, s.account, s.folder, "\(r?.imported ?? 0)", "\(r?.linkedExisting ?? 0)",
                             "\(s.failures)", "\(s.emails)", s.lastError.map { String($0.prefix(60)) } ?? ""])
            }
        }
        print(TextTable.render(rows))
        return failed
    }
}
