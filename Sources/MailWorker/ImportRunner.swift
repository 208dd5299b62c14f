import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTransport

/// Polls every active account of every active tenant until nothing new remains (`mailroom worker
/// --until-idle`). The long-running worker schedules the same `pollAccount` through its job table.
public struct ImportRunner: Sendable {
    public let pool: PostgresPool
    public let secrets: SecretBox
    public let settings: ImportSettings
    public let logger: Logger
    /// Counts IMAP errors per tenant when set (the long-running worker's metrics).
    public let metrics: WorkerMetrics?
    /// Tenant slugs for log lines and metric labels.
    public let tenants: TenantDirectory
    /// Keeps IMAP connections open between polls when set (the long-running worker); without it
    /// every poll connects, logs in and logs out.
    public let sessions: IMAPSessionCache?
    /// Access tokens of accounts that log in with OAuth 2.0.
    public let oauth: OAuthTokens

    public init(pool: PostgresPool, secrets: SecretBox, settings: ImportSettings = .init(),
                logger: Logger = Logger(label: "mailroom.import"), metrics: WorkerMetrics? = nil,
                tenants: TenantDirectory? = nil, sessions: IMAPSessionCache? = nil) {
        self.pool = pool
        self.secrets = secrets
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.tenants = tenants ?? TenantDirectory(pool: pool)
        self.sessions = sessions
        self.oauth = OAuthTokens(pool: pool, keyring: secrets.keyring, policy: settings.outboundPolicy, logger: logger)
    }

    /// Runs until a full pass over every account fetched nothing; returns every folder's totals.
    /// - Parameter only: tenant slugs to limit the run to; nil polls every active tenant.
    public func runUntilIdle(concurrency: Int = 4, only: Set<String>? = nil) async throws -> [ImportReport] {
        let tenants = try await pool.withConnection { try TenantQueries.tenantListActive($0) }
            .filter { only?.contains($0.slug) ?? true }
        var accounts: [MailAccountRecord] = []
        for t in tenants {
            accounts += try await pool.transaction(tenant: t.id) { try MailAccountQueries.mailAccountListPollable($0, tenant: t.id) }
        }
        var totals: [FolderID: ImportReport] = [:]
        try await withThrowingTaskGroup(of: [ImportReport].self) { group in
            var next = 0
            func launch() {
                guard next < accounts.count else { return }
                let account = accounts[next]
                next += 1
                group.addTask { await self.pollAccountUntilIdle(account) }
            }
            for _ in 0..<max(1, concurrency) { launch() }
            while let reports = try await group.next() {
                for r in reports { totals[r.folderID, default: ImportReport(tenantID: r.tenantID, accountID: r.accountID, folderID: r.folderID)].merge(r) }
                launch()
            }
        }
        return totals.values.sorted { ($0.tenantID, $0.accountID, $0.folderID) < ($1.tenantID, $1.accountID, $1.folderID) }
    }

    /// Polls each folder of one account repeatedly until a pass fetches nothing (mail that arrives
    /// during a poll is picked up by the next pass).
    public func pollAccountUntilIdle(_ account: MailAccountRecord) async -> [ImportReport] {
        var all: [ImportReport] = []
        var rounds = 0
        while rounds < 100 {
            rounds += 1
            let reports = await pollAccount(account)
            all += reports
            if !reports.contains(where: { $0.fetchedAnything || $0.uidValidityChanged }) { break }
        }
        return all
    }

    /// Runs in the transaction that records a poll's end, with the poll's reports.
    public typealias PollClosing = @Sendable (PostgresConnection, [ImportReport]) throws -> Void

    /// One poll of every active folder of the account. Connection and login failures are recorded
    /// on the account and its folders with a clear message; nothing is thrown.
    /// - Parameters:
    ///   - folders: the folders to poll when the caller has just read them; nil lists the active ones.
    ///   - closing: extra writes for the transaction that records the poll's end (one transaction
    ///     per poll records every folder's end, the account's error and `closing`'s rows).
    ///   - rejectedToken: the generation of an OAuth access token the server just refused although it
    ///     looked valid: this poll uses a newer one (one refresh, one retry).
    public func pollAccount(_ account: MailAccountRecord, onlyFolder: FolderID? = nil, folders listed: [MailFolderRecord]? = nil,
                            closing: PollClosing? = nil, rejectedToken: Int64? = nil) async -> [ImportReport] {
        let tenant = account.tenantID
        let slug = await tenants.slug(tenant)
        var log = logger
        log[metadataKey: "tenant"] = "\(slug)"
        log[metadataKey: "tenant_id"] = "\(tenant)"
        log[metadataKey: "account"] = "\(account.name)"
        log[metadataKey: "account_id"] = "\(account.id)"
        let folders: [MailFolderRecord]
        do {
            var all = listed ?? []
            if listed == nil {
                all = try await pool.transaction(tenant: tenant) { try MailFolderQueries.mailFolderListActive($0, tenant: tenant, account: account.id) }
            }
            folders = all.filter { onlyFolder == nil || $0.id == onlyFolder }
        } catch {
            log.error("cannot list folders", metadata: ["error": "\(error)"])
            if let closing { await recordQuietly(log) { try await pool.transaction(tenant: tenant) { try closing($0, []) } } }
            return []
        }
        let endpoint: IMAPEndpoint
        let tokenGeneration: Int64?
        do {
            (endpoint, tokenGeneration) = try await makeEndpoint(account, rejectedToken: rejectedToken)
        } catch {
            let reports = folders.map { var r = ImportReport(tenantID: tenant, accountID: account.id, folderID: $0.id); r.error = "\(error)"; return r }
            await recordFailure(account: account, folders: folders, message: "\(error)", log: log, closing: closing, reports: reports)
            return reports
        }
        let imap: IMAPConnection
        do {
            if let sessions {
                imap = try await sessions.checkout(account: account.id, endpoint: endpoint, threadName: "imap-\(tenant)-\(account.id)")
            } else {
                imap = try await IMAPConnection(endpoint: endpoint, threadName: "imap-\(tenant)-\(account.id)")
            }
        } catch {
            if error is TransportError { metrics?.imapError(tenant: slug) }
            let reports = folders.map { var r = ImportReport(tenantID: tenant, accountID: account.id, folderID: $0.id); r.error = "\(error)"; return r }
            await recordFailure(account: account, folders: folders, message: "\(error)", log: log, closing: closing, reports: reports)
            return reports
        }
        var reports: [ImportReport] = []
        // A cached connection goes back only after a poll without any error: after a failure its
        // state (selection, half-read response) is unknown.
        defer {
            if let sessions {
                if reports.count == folders.count, reports.allSatisfy({ $0.error == nil }) {
                    sessions.checkin(imap, endpoint: endpoint)
                } else {
                    sessions.discard(imap)
                }
            } else {
                imap.close()
            }
        }
        var accountError: String?
        var authenticationRefused = false
        for folder in folders {
            var flog = log
            flog[metadataKey: "folder"] = "\(folder.name)"
            flog[metadataKey: "folder_id"] = "\(folder.id)"
            let importer = FolderImporter(pool: pool, settings: settings, logger: flog, metrics: metrics, tenantSlug: slug)
            do {
                let r = try await importer.poll(account: account, folder: folder, imap: imap)
                if r.fetchedAnything {
                    flog.info("imported", metadata: ["new": "\(r.imported)", "linked": "\(r.linkedExisting)", "failed": "\(r.failed)"])
                }
                reports.append(r)
            } catch {
                let message = "\(error)"
                flog.error("poll failed", metadata: ["error": "\(message)"])
                if error is TransportError { metrics?.imapError(tenant: slug) }
                if let t = error as? TransportError, t.isConnectionLevel || t.code == .authenticationFailed { accountError = message }
                if let t = error as? TransportError, t.code == .authenticationFailed { authenticationRefused = true }
                await recordQuietly(log) {
                    try await pool.transaction(tenant: tenant) { conn in
                        try MailFolderQueries.mailFolderPollFinished(conn, tenant: tenant, id: folder.id, uidNext: nil, error: message)
                    }
                }
                var r = ImportReport(tenantID: tenant, accountID: account.id, folderID: folder.id)
                r.error = message
                reports.append(r)
                if accountError != nil { break }
            }
        }
        // A token believed valid was refused (revoked a moment ago, or the server's view lags): one
        // refresh and one retry, before anything of this poll is recorded as the account's state.
        if let generation = tokenGeneration, rejectedToken == nil,
           reports.contains(where: { $0.error != nil }), accountError != nil, authenticationRefused {
            sessions?.invalidate(account: account.id)
            log.warning("OAuth token refused by the server: refreshing it once", metadata: ["generation": "\(generation)"])
            return await pollAccount(account, onlyFolder: onlyFolder, folders: folders, closing: closing, rejectedToken: generation)
        }
        let finalError = accountError
        let finished = reports
        await recordQuietly(log) {
            try await pool.transaction(tenant: tenant) { conn in
                // Failed folders recorded their end when they failed; the successful ones end here.
                for r in finished where r.error == nil {
                    try MailFolderQueries.mailFolderPollFinished(conn, tenant: tenant, id: r.folderID, uidNext: r.uidNext, error: nil)
                }
                try MailAccountQueries.mailAccountSetError(conn, tenant: tenant, id: account.id, error: finalError)
                try closing?(conn, finished)
            }
        }
        return reports
    }

    private func recordFailure(account: MailAccountRecord, folders: [MailFolderRecord], message: String, log: Logger,
                               closing: PollClosing?, reports: [ImportReport]) async {
        log.error("account cannot be polled", metadata: ["error": "\(message)"])
        let tenant = account.tenantID
        await recordQuietly(log) {
            try await pool.transaction(tenant: tenant) { conn in
                try MailAccountQueries.mailAccountSetError(conn, tenant: tenant, id: account.id, error: message)
                for f in folders { try MailFolderQueries.mailFolderPollFinished(conn, tenant: tenant, id: f.id, uidNext: nil, error: message) }
                try closing?(conn, reports)
            }
        }
    }

    /// Status bookkeeping must not turn one failure into another: a failed write is logged, not thrown.
    private func recordQuietly(_ log: Logger, _ body: () async throws -> Void) async {
        do { try await body() } catch { log.error("cannot record poll status", metadata: ["error": "\(error)"]) }
    }

    /// The account's IMAP endpoint and, for an OAuth account, the generation of the token it carries.
    func makeEndpoint(_ a: MailAccountRecord, rejectedToken: Int64? = nil) async throws -> (IMAPEndpoint, Int64?) {
        guard let host = a.imapHost else { throw WorkerError("account \(a.name) has no IMAP host") }
        // The column's CHECK admits only known values; anything else is an error, never a default.
        guard let security = TransportSecurity(rawValue: a.imapSecurity) else {
            throw WorkerError("account \(a.name) has an unknown imap_security setting")
        }
        guard let login = LoginMethod(rawValue: a.imapAuth) else {
            throw WorkerError("account \(a.name) has an unknown imap_auth setting")
        }
        let password: Secret
        var generation: Int64?
        switch login {
        case .oauth2:
            guard let client = a.oauthClientID else { throw WorkerError("account \(a.name) logs in with OAuth but has no OAuth client") }
            let token = try await oauth.accessToken(tenant: a.tenantID, account: a.id, client: client, rejected: rejectedToken)
            (password, generation) = (token.value, token.generation)
        case .password:
            if let sealed = a.imapSecret {
                password = try secrets.openSecret(sealed, context: MailAccountRecord.secretContext(tenant: a.tenantID, account: a.id, field: "imap_secret"))
            } else {
                password = Secret("")
            }
        }
        let endpoint = IMAPEndpoint(host: host, port: a.imapPort ?? (security == .tls ? 993 : 143), security: security,
                                    verifyTLS: a.imapVerifyTLS, username: a.imapUsername ?? a.address, password: password, login: login,
                                    connectTimeout: settings.connectTimeout, ioTimeout: settings.ioTimeout,
                                    policy: settings.outboundPolicy)
        return (endpoint, generation)
    }
}

/// An error of the worker's own making, with a log-safe message.
public struct WorkerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension ImportReport {
    mutating func merge(_ o: ImportReport) {
        imported += o.imported
        linkedExisting += o.linkedExisting
        failed += o.failed
        retriedOK += o.retriedOK
        headerOnly += o.headerOnly
        skipped += o.skipped
        uidValidityChanged = uidValidityChanged || o.uidValidityChanged
        error = o.error ?? (o.fetchedAnything ? nil : error)
    }
}

extension ImportRunner {
    /// Runs `body` on a logged-in IMAP connection of `account`: one kept by this replica's session
    /// cache when there is one (returned after success, dropped after an error, whose connection
    /// state is unknown), else a new connection closed afterwards.
    func withIMAP<T: Sendable>(_ account: MailAccountRecord, threadName: String,
                               _ body: (IMAPConnection) async throws -> T) async throws -> T {
        let (endpoint, _) = try await makeEndpoint(account)
        guard let sessions else {
            let imap = try await IMAPConnection(endpoint: endpoint, threadName: threadName)
            defer { imap.close() }
            return try await body(imap)
        }
        let imap = try await sessions.checkout(account: account.id, endpoint: endpoint, threadName: threadName)
        do {
            let value = try await body(imap)
            sessions.checkin(imap, endpoint: endpoint)
            return value
        } catch {
            sessions.discard(imap)
            throw error
        }
    }
}
