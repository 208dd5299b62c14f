import Foundation
import Logging
import MailCore
import MailCrypto
import MailProtocol
import MailStore
import ServiceLifecycle

/// The long-running worker of one replica, as services for one `ServiceGroup`: the job runner, the
/// maintenance loop and the notification listener. Built here, composed by the executable.
public struct WorkerServices: Sendable {
    public let runner: JobRunner
    public let maintenance: Maintenance
    public let listener: NotificationListener
    public let metrics: WorkerMetrics
    /// IMAP connections kept open between polls (nil when `sessionConfig.maxIdle` is 0).
    public let sessions: IMAPSessionCache?
    /// IMAP IDLE wake-ups (nil: polling only).
    public let idle: IdleWakeUps?

    /// `smtpConnectionsPerAccount`: the most SMTP connections this replica opens to one account at
    /// once (each account's `smtp_max_connections` may lower it); in `smtpConnectionsRange`.
    public init(pool: PostgresPool, conninfo: String, secrets: SecretBox, runnerConfig: JobRunnerConfiguration,
                importSettings: ImportSettings = .init(), maintenanceConfig: Maintenance.Configuration = .init(),
                sessionConfig: IMAPSessionCache.Configuration = .init(),
                smtpConnectionsPerAccount: Int = Self.defaultSMTPConnectionsPerAccount,
                webhookSettings: WebhookDeliverySettings? = nil, idleTiming: IdleCycle.Timing? = nil, logger: Logger) {
        let metrics = WorkerMetrics()
        let tenants = TenantDirectory(pool: pool)
        let sessions = sessionConfig.maxIdle > 0 ? IMAPSessionCache(sessionConfig) : nil
        self.sessions = sessions
        let importer = ImportRunner(pool: pool, secrets: secrets, settings: importSettings, logger: logger,
                                    metrics: metrics, tenants: tenants, sessions: sessions)
        var webhooks = webhookSettings ?? WebhookDeliverySettings()
        if webhookSettings == nil { webhooks.outboundPolicy = importSettings.outboundPolicy }
        let handlers: [String: any JobHandler] = [
            "poll": PollJobHandler(pool: pool, importer: importer, worker: runnerConfig.owner, logger: logger),
            "trace": TraceJobHandler(),
            "noop": NoopJobHandler(),
            "send": SendJobHandler(pool: pool, secrets: secrets, importer: importer,
                                   connections: SMTPConnectionCache(perAccountCap: smtpConnectionsPerAccount), logger: logger),
            "webhook": WebhookJobHandler(pool: pool, secrets: secrets, settings: webhooks, tenants: tenants, logger: logger),
        ]
        let runner = JobRunner(pool: pool, handlers: handlers, config: runnerConfig, metrics: metrics, tenants: tenants,
                               logger: logger)
        let maintenance = Maintenance(pool: pool, conninfo: conninfo, config: maintenanceConfig, metrics: metrics,
                                      logger: logger, onNewWork: { runner.nudge() })
        self.runner = runner
        self.maintenance = maintenance
        self.metrics = metrics
        let idle: IdleWakeUps?
        do {
            idle = try idleTiming.map { try IdleWakeUps(pool: pool, importer: importer, timing: $0, logger: logger) }
        } catch {
            logger.error("IMAP IDLE unavailable, polling only", metadata: ["error": "\(error)"])
            idle = nil
        }
        self.idle = idle
        self.listener = NotificationListener(conninfo: conninfo, logger: logger) { channel in
            switch channel {
            case NotificationListener.configChannel: maintenance.requestReconcile(); idle?.requestReconcile(); runner.nudge()
            default: runner.nudge()
            }
        }
    }

    public static let defaultSMTPConnectionsPerAccount = SMTPConnectionCache.defaultPerAccountCap
    public static let smtpConnectionsRange = SMTPConnectionCache.allowedConnections

    /// Each loop stops at graceful shutdown (SIGTERM): cancellation is the runner's signal to stop
    /// claiming, let in-flight jobs finish within the deadline and hand back the rest.
    public var services: [any Service] {
        var all: [any Service] = [StoppingService(runner.run), StoppingService(maintenance.run), StoppingService(listener.run)]
        if let idle { all.append(StoppingService(idle.run)) }
        if let sessions {
            // Expiry also happens on every checkout and checkin; this closes connections of a quiet replica.
            all.append(StoppingService {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(10))
                    sessions.closeExpired()
                }
                sessions.closeAll()
            })
        }
        return all
    }
}

/// Runs a loop until graceful shutdown, then cancels it and waits for it to wind down.
struct StoppingService: Service {
    let body: @Sendable () async -> Void
    init(_ body: @escaping @Sendable () async -> Void) { self.body = body }
    func run() async throws {
        await cancelWhenGracefulShutdown { await body() }
    }
}

/// LISTENs for `mailroom_jobs` (work became due) and `mailroom_config` (an account or folder changed)
/// and turns each into a wake-up. Polling remains the fallback when notifications are lost.
public final class NotificationListener: Sendable {
    public static let jobsChannel = "mailroom_jobs"
    public static let configChannel = "mailroom_config"
    let conninfo: String
    let logger: Logger
    let onNotify: @Sendable (String) -> Void

    public init(conninfo: String, logger: Logger, onNotify: @escaping @Sendable (String) -> Void) {
        self.conninfo = conninfo
        self.logger = logger
        self.onNotify = onNotify
    }

    public func run() async {
        let listener = PostgresListener(conninfo: conninfo, channels: [Self.jobsChannel, Self.configChannel])
        defer { listener.close() }
        while !Task.isCancelled {
            do {
                for channel in Set(try await listener.wait(timeout: .milliseconds(500))) { onNotify(channel) }
            } catch {
                logger.warning("notification listener reconnecting", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
