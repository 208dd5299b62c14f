import Foundation
import Logging
import MailCore
import MailStore
import Synchronization

/// Queue upkeep that one replica does at a time: rescue expired leases, prune finished jobs, keep the
/// poll schedule in step with the configuration, report stalled folders and prune expired events
/// (`Maintenance+Events.swift`). Every replica, leader or not, publishes the queue
/// gauges (queue depth, most overdue poll per tenant) from one cheap aggregate every `gaugeEvery`, so any
/// replica's `/metrics` shows them and a leader change leaves no gap.
///
/// Leadership is a session advisory lock on a dedicated connection: when the leader dies its
/// connection closes, the lock frees, and another replica's next attempt takes it over. Reconciling
/// on a configuration notification is idempotent, so every replica does that one at once, leader or not.
public final class Maintenance: Sendable {
    public struct Configuration: Sendable {
        public var tick: Duration = .seconds(2)
        public var reconcileEvery: Duration = .seconds(30)
        public var pruneEvery: Duration = .seconds(60)
        public var retention: Duration = .seconds(3600)
        /// How often this replica refreshes its queue-depth and overdue-poll gauges.
        public var gaugeEvery: Duration = .seconds(5)
        /// How often this replica refreshes the expiring-client-secret gauge: one transaction per tenant
        /// (`oauth_client` is behind forced row-level security), for a value that changes by the day.
        public var secretGaugeEvery: Duration = .seconds(600)
        /// How often this replica refreshes the storm breaker gauges (one transaction per tenant).
        public var stormGaugeEvery: Duration = .seconds(30)
        /// How often the leader looks for stalled folders and prunes each tenant's expired events.
        public var eventsEvery: Duration = .seconds(60)
        /// Events deleted per transaction when pruning, and transactions per tenant per round: a long
        /// backlog is worked off over several rounds, never in one long transaction.
        public var eventPruneBatch = 1000
        public var eventPruneBatchesPerRound = 20
        public init() {}
    }

    let pool: PostgresPool
    let conninfo: String
    let config: Configuration
    let metrics: WorkerMetrics
    let logger: Logger
    /// Called after a reconcile added work, so idle runners claim it at once.
    let onNewWork: @Sendable () -> Void
    private let reconcileRequested = Atomic<Bool>(true)

    public init(pool: PostgresPool, conninfo: String, config: Configuration = .init(), metrics: WorkerMetrics,
                logger: Logger, onNewWork: @escaping @Sendable () -> Void) {
        self.pool = pool
        self.conninfo = conninfo
        self.config = config
        self.metrics = metrics
        self.logger = logger
        self.onNewWork = onNewWork
    }

    /// Asks for a reconcile at the next tick (a configuration table changed).
    public func requestReconcile() { reconcileRequested.store(true, ordering: .relaxed) }

    public func run() async {
        var leader: PostgresConnection?
        var lastReconcile = ContinuousClock.now - config.reconcileEvery
        var lastPrune = ContinuousClock.now
        var lastGauges = ContinuousClock.now - config.gaugeEvery
        var lastSecretGauge = ContinuousClock.now - config.secretGaugeEvery
        var lastStormGauge = ContinuousClock.now - config.stormGaugeEvery
        var lastEvents = ContinuousClock.now - config.eventsEvery
        while !Task.isCancelled {
            if ContinuousClock.now - lastGauges >= config.gaugeEvery {
                await publishGauges()
                lastGauges = .now
            }
            if ContinuousClock.now - lastSecretGauge >= config.secretGaugeEvery {
                await publishSecretExpiry()
                lastSecretGauge = .now
            }
            if ContinuousClock.now - lastStormGauge >= config.stormGaugeEvery {
                await publishStormBreakers()
                lastStormGauge = .now
            }
            if reconcileRequested.exchange(false, ordering: .relaxed) {
                await reconcile()
                lastReconcile = .now
            }
            if leader == nil { leader = await tryLead() }
            if let conn = leader {
                do {
                    let rescued = try await conn.run { try JobQueries.jobRescueExpiredByTenant($0) }
                    for r in rescued {
                        logger.warning("rescued jobs with expired leases", metadata: ["tenant": "\(r.tenant)", "count": "\(r.count)"])
                    }
                    if !rescued.isEmpty { onNewWork() }
                    if ContinuousClock.now - lastReconcile >= config.reconcileEvery {
                        await reconcile()
                        lastReconcile = .now
                    }
                    if ContinuousClock.now - lastPrune >= config.pruneEvery {
                        let retention = config.retention
                        let pruned = try await conn.run { try JobQueries.jobPruneFinished($0, retention: retention) }
                        if pruned > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(pruned)"]) }
                        // Pending OAuth logins a day past their expiry (used or not) explain nothing any more.
                        let logins = try await conn.run { try OAuthLoginStateQueries.loginStateDeleteExpired($0) }
                        if logins > 0 { logger.info("pruned expired OAuth logins", metadata: ["count": "\(logins)"]) }
                        lastPrune = .now
                    }
                    if ContinuousClock.now - lastEvents >= config.eventsEvery {
                        await reportStalledFolders()
                        await pruneEvents()
                        lastEvents = .now
                    }
                } catch {
                    logger.error("maintenance failed; giving up leadership", metadata: ["error": "\(error)"])
                    conn.thread.stop()
                    leader = nil
                }
            }
            try? await Task.sleep(for: config.tick)
        }
        leader?.thread.stop()
    }

    private func tryLead() async -> PostgresConnection? {
        do {
            let conn = try await PostgresConnection.connect(conninfo: conninfo, applicationName: "mailroom-leader")
            if try await conn.run({ try $0.tryAdvisoryLock(AdvisoryLock.namespace, AdvisoryLock.leader) }) {
                logger.notice("this replica now runs maintenance")
                return conn
            }
            conn.thread.stop()
        } catch {
            logger.error("cannot open the leader connection", metadata: ["error": "\(error)"])
        }
        return nil
    }

    /// Brings every active tenant's poll schedule in line with its folders and accounts. A tenant
    /// that fails is logged with its slug and retried at the next tick; the others go on.
    public func reconcile() async {
        let tenants: [TenantQueries.Tenant]
        do {
            tenants = try await pool.withConnection { try TenantQueries.tenantListActive($0) }
        } catch {
            logger.error("reconcile failed: cannot list tenants", metadata: ["error": "\(error)"])
            requestReconcile()
            return
        }
        var added = 0
        for t in tenants {
            do {
                let r = try await pool.transaction(tenant: t.id) { try PollScheduleQueries.pollScheduleReconcile($0, tenant: t.id) }
                added += r.added
                if r.added + r.removed + r.retimed > 0 {
                    logger.info("poll schedule updated", metadata: ["tenant": "\(t.slug)", "tenant_id": "\(t.id)", "added": "\(r.added)",
                                                                  "removed": "\(r.removed)", "retimed": "\(r.retimed)"])
                }
            } catch {
                logger.error("reconcile failed", metadata: ["tenant": "\(t.slug)", "tenant_id": "\(t.id)", "error": "\(error)"])
                requestReconcile()
            }
        }
        if added > 0 { onNewWork() }
    }

    /// Refreshes this replica's queue gauges; a failure keeps the previous values and is logged.
    func publishGauges() async {
        do {
            let rows = try await pool.withConnection { try QueueStatusQueries.queueDepthByTenant($0) }
            metrics.setQueueDepth(Dictionary(uniqueKeysWithValues: rows.map { ($0.tenant, $0.due) }))
            metrics.setPollOverdue(Dictionary(uniqueKeysWithValues: rows.map { ($0.tenant, $0.pollLagSeconds) }))
        } catch {
            logger.warning("cannot read queue gauges", metadata: ["error": "\(error)"])
        }
    }

    /// Refreshes, per active tenant, the count of OAuth clients whose secret expires within 30 days (or
    /// has expired) and of accounts whose OAuth login must be renewed; a failure keeps the previous
    /// values and is logged.
    func publishSecretExpiry(now: Date = Date()) async {
        do {
            let tenants = try await pool.withConnection { try TenantQueries.tenantListActive($0) }
            var counts: [String: Int] = [:]
            var reauth: [String: Int] = [:]
            for t in tenants {
                (counts[t.slug], reauth[t.slug]) = try await pool.transaction(tenant: t.id) {
                    (try OAuthClientQueries.clientListSecretsExpiring(
                        $0, tenant: t.id, before: now.addingTimeInterval(OAuthClientQueries.secretWarningWindow)).count,
                     try OAuthGrantQueries.grantListNeedingLogin($0, tenant: t.id).count)
                }
            }
            metrics.setOAuthClientSecretsExpiring(counts)
            metrics.setOAuthReauthRequired(reauth)
        } catch {
            logger.warning("cannot read OAuth client secret expiry", metadata: ["error": "\(error)"])
        }
    }
}
