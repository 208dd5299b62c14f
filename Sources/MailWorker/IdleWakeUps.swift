import Foundation
import Logging
import MailCore
import MailProtocol
import MailStore
import MailTransport
import Synchronization

/// Turns IMAP IDLE notifications into immediate polls (docs/idle.md): watches the INBOX of every
/// pollable account whose `idle` setting is on, and when the server announces a change there (or a
/// lost watch is back, mail may have come meanwhile) moves that folder's poll job to now. The poll
/// job and its import stay the only writers; interval polling continues as the safety net.
///
/// The set of watches follows the database: `reconcile` runs at start, whenever the configuration
/// changes (`requestReconcile`, on `mailroom_config`) and every `reconcileInterval`. An account
/// disabled, switched to `idle: false` or given new credentials loses (or replaces) its connection
/// at the next reconcile. OAuth accounts whose watch was lost get a fresh token at the next one.
public final class IdleWakeUps: Sendable {
    /// One watched folder.
    struct Watch: Hashable, Sendable {
        var tenant: TenantID
        var folder: FolderID
    }

    /// What makes a watch's connection: a change means a new connection.
    struct Login: Equatable, Sendable {
        var host: String?, port: Int?, security: String, verifyTLS: Bool, username: String?
        var sealedSecret: [UInt8]?, auth: String, oauthClient: Int64?

        init(_ a: MailAccountRecord) {
            (host, port, security, verifyTLS, username) = (a.imapHost, a.imapPort, a.imapSecurity, a.imapVerifyTLS, a.imapUsername)
            (sealedSecret, auth, oauthClient) = (a.imapSecret, a.imapAuth, a.oauthClientID)
        }
    }

    private struct State {
        var watched: [Watch: Login] = [:]
        /// OAuth watches whose connection was lost: their token may have expired.
        var stale: Set<Watch> = []
    }

    private let pool: PostgresPool
    private let importer: ImportRunner
    private let watcher: IdleWatcher<Watch>
    private let events: AsyncStream<(Watch, IdleWatcher<Watch>.Event)>
    private let eventInput: AsyncStream<(Watch, IdleWatcher<Watch>.Event)>.Continuation
    private let state = Mutex(State())
    private let reconcileNeeded: AsyncStream<Void>.Continuation
    private let reconcileRequests: AsyncStream<Void>
    private let reconcileInterval: Duration
    private let onlyTenants: Set<TenantID>?
    private let logger: Logger

    /// Starts the watcher's threads (watching begins with `run`). Throws when epoll is unavailable.
    /// `onlyTenants`: watch these tenants' accounts only (nil: every active tenant), as
    /// `ImportRunner.runUntilIdle(only:)` narrows polling.
    public init(pool: PostgresPool, importer: ImportRunner, timing: IdleCycle.Timing = .init(),
                reconcileInterval: Duration = .seconds(60), onlyTenants: Set<TenantID>? = nil, logger: Logger) throws {
        self.onlyTenants = onlyTenants
        self.pool = pool
        self.importer = importer
        self.reconcileInterval = reconcileInterval
        self.logger = logger
        let (events, input) = AsyncStream.makeStream(of: (Watch, IdleWatcher<Watch>.Event).self, bufferingPolicy: .unbounded)
        self.events = events
        eventInput = input
        (reconcileRequests, reconcileNeeded) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        // On the loop thread: hand over, never block.
        watcher = try IdleWatcher(settings: .init(timing: timing), name: "idle") { input.yield(($0, $1)) }
    }

    /// The timing the worker runs with (`IdleCycle.Timing`'s defaults: renew every 25 minutes, probe
    /// after 3 silent minutes, answers within 30 s).
    public static let defaultTiming = IdleCycle.Timing()

    /// The folders whose IDLE runs now.
    public var idlingFolders: Set<FolderID> { Set(watcher.idlingKeys.map(\.folder)) }

    /// Asks for a reconcile soon (a configuration change).
    public func requestReconcile() { reconcileNeeded.yield() }

    /// Runs until cancelled: reconciles and wakes polls; closes every connection at the end.
    public func run() async {
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    for await (watch, event) in events { await handle(event, of: watch) }
                }
                group.addTask { [self] in
                    let ticker = Task { [self] in
                        while !Task.isCancelled {
                            requestReconcile()
                            try? await Task.sleep(for: reconcileInterval)
                        }
                    }
                    defer { ticker.cancel() }
                    for await _ in reconcileRequests {
                        if Task.isCancelled { break }
                        await reconcile()
                    }
                }
            }
        } onCancel: { [self] in
            watcher.shutdown()
            reconcileNeeded.finish()
            eventInput.finish()
        }
    }

    /// Makes the watches match the database.
    func reconcile() async {
        var wanted: [Watch: MailAccountRecord] = [:]
        do {
            let tenants = try await pool.transaction(tenant: nil) { try TenantQueries.tenantListActive($0) }
            for tenant in tenants where onlyTenants?.contains(tenant.id) ?? true {
                let inboxes = try await pool.transaction(tenant: tenant.id) {
                    try MailAccountQueries.mailAccountListIdleInboxes($0, tenant: tenant.id)
                }
                for (account, folder) in inboxes { wanted[Watch(tenant: tenant.id, folder: folder)] = account }
            }
        } catch {
            logger.warning("IDLE watches not reconciled", metadata: ["error": "\(error)"])
            return
        }
        let (removed, current, stale) = state.withLock { s in
            (Set(s.watched.keys).subtracting(wanted.keys), s.watched, s.stale)
        }
        for watch in removed { watcher.unwatch(watch) }
        state.withLock { s in
            for watch in removed { s.watched[watch] = nil }
        }
        for (watch, account) in wanted {
            let login = Login(account)
            guard current[watch] != login || stale.contains(watch) else { continue }
            do {
                let (endpoint, _) = try await importer.makeEndpoint(account)
                state.withLock { s in
                    s.watched[watch] = login
                    s.stale.remove(watch)
                }
                watcher.watch(watch, endpoint: endpoint, folder: "INBOX")
            } catch {
                logger.warning("IDLE watch not started", metadata: ["folder": "\(watch.folder)", "error": "\(error)"])
            }
        }
    }

    private func handle(_ event: IdleWatcher<Watch>.Event, of watch: Watch) async {
        switch event {
        case .changed, .watching(reconnected: true):
            await wake(watch)
        case .lost(let reason):
            logger.debug("IDLE connection lost", metadata: ["folder": "\(watch.folder)", "reason": "\(reason)"])
            state.withLock { s in if s.watched[watch]?.auth == "oauth2" { s.stale.insert(watch) } }
        case .watching(reconnected: false), .unsupported:
            break
        }
    }

    /// Moves the folder's poll to now.
    private func wake(_ watch: Watch) async {
        do {
            try await pool.transaction(tenant: watch.tenant) {
                try PollScheduleQueries.pollScheduleFolderNow($0, tenant: watch.tenant, folder: watch.folder)
            }
        } catch {
            logger.warning("IDLE wake-up failed", metadata: ["folder": "\(watch.folder)", "error": "\(error)"])
        }
    }
}
