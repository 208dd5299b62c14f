import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailMetricsHTTP
import MailStore
import MailWorker
import ServiceLifecycle

/// `mailroom oauth …`: OAuth 2.0 logins of mail accounts (docs/oauth.md).
struct OAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oauth",
        abstract: "OAuth 2.0 logins of mail accounts.",
        subcommands: [OAuthImportCommand.self, OAuthLoginCommand.self])
}

/// Moving a mailbox from another system: its refresh token becomes the account's login.
struct OAuthImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store an existing refresh token as an account's OAuth login (redeemed at once to check it).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Tenant slug.")
    var tenant: String

    @Option(help: "Account name or address.")
    var account: String

    @Option(name: .customLong("refresh-token"), help: "env:VARIABLE naming the environment variable that holds the refresh token.")
    var refreshToken: String

    func run() async throws {
        try global.bootstrapLogging()
        // Only a reference on the command line: a token in argv is visible to every local user.
        guard refreshToken.hasPrefix("env:"), refreshToken.count > 4 else {
            throw ValidationError("--refresh-token takes env:VARIABLE (the token itself never goes on the command line)")
        }
        let variable = String(refreshToken.dropFirst(4))
        guard let token = ProcessInfo.processInfo.environment[variable], !token.isEmpty else {
            throw ValidationError("--refresh-token: the environment variable \(variable) is not set or empty")
        }
        let (policy, _) = try global.outboundSettings()
        let keyring = try global.resolveKeyring()
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        let (tenantID, accountID, client) = try await Self.findAccount(pool: pool, tenant: tenant, account: account)
        var logger = Logger(label: "mailroom.oauth")
        logger.logLevel = .warning
        let tokens = OAuthTokens(pool: pool, keyring: keyring, policy: policy, logger: logger)
        do {
            let lifetime = try await tokens.importLogin(tenant: tenantID, account: accountID, client: client, refreshToken: Secret(token))
            print("account \(account): OAuth login stored (access token valid for \(lifetime) s); polling and sending resume")
        } catch let e as OAuthUnavailable {
            throw ValidationError("account \(account): \(e.reason)")
        } catch let e as MailboxIdentityError {
            throw ValidationError("account \(account): \(e.description)")
        }
    }
}

/// An operator logs an account in with the device authorization grant (RFC 8628): the command shows a
/// URL and a code, the account's user approves on any device, and the login is stored.
struct OAuthLoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log an account in with OAuth through the device flow (a URL and a code to approve on any device).")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Tenant slug.")
    var tenant: String

    @Option(help: "Account name or address.")
    var account: String

    @Option(help: "Without a device flow: the loopback port the browser returns to (0: a free one; register http://127.0.0.1/oauth/callback at the provider).")
    var loopbackPort = 0

    func run() async throws {
        try global.bootstrapLogging()
        let (policy, _) = try global.outboundSettings()
        let keyring = try global.resolveKeyring()
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        let (tenantID, accountID, clientID) = try await OAuthImportCommand.findAccount(pool: pool, tenant: tenant, account: account)
        var logger = Logger(label: "mailroom.oauth")
        logger.logLevel = .warning
        let tokens = OAuthTokens(pool: pool, keyring: keyring, policy: policy, logger: logger)
        let login = OAuthDeviceLogin(tokens: tokens)
        guard let client = try await login.client(tenant: tenantID, id: clientID) else {
            throw ValidationError("account \(account): its OAuth client is gone")
        }
        guard client.deviceAuthorizationURL != nil else {
            guard client.authorizationURL != nil else {
                throw ValidationError("account \(account): OAuth client \"\(client.name)\" has no device flow (no device_authorization_url) "
                                      + "and no authorization_url; connect the mailbox with `mailroom oauth import`")
            }
            let hint = try await pool.transaction(tenant: tenantID) { conn in
                try MailAccountQueries.mailAccountGet(conn, tenant: tenantID, id: accountID).map { $0.imapUsername ?? $0.address }
            }
            try await loopbackLogin(tokens: tokens, client: client, account: accountID, loginHint: hint, logger: logger)
            return
        }
        do {
            let start = try await login.start(client: client)
            // Written at once (stdout may be a pipe): the operator needs the code while the command waits.
            var text = "To log account \(account) in, open \(start.verificationURI) and enter the code \(start.userCode)\n"
            if let complete = start.verificationURIComplete { text += "(or open \(complete))\n" }
            text += "Waiting for the approval (the code expires in \(max(1, start.expiresIn / 60)) min)…\n"
            FileHandle.standardOutput.write(Data(text.utf8))
            let lifetime = try await login.finish(start, client: client, account: accountID)
            print("account \(account): OAuth login stored (access token valid for \(lifetime) s); polling and sending resume")
        } catch let e as DeviceFlowError {
            throw ValidationError("account \(account): \(e.description)")
        } catch let e as MailboxIdentityError {
            throw ValidationError("account \(account): \(e.description)")
        }
    }
}

extension OAuthLoginCommand {
    /// Seconds the loopback login waits for the browser.
    static let loopbackTimeout: Duration = .seconds(600)

    /// The loopback redirect (RFC 8252 §7.3) for a client without a device flow: listen on 127.0.0.1,
    /// print the authorization URL, store the login when the browser comes back with this login's state.
    func loopbackLogin(tokens: OAuthTokens, client: OAuthClientRecord, account accountID: AccountID, loginHint: String?,
                       logger: Logger) async throws {
        let pending = PendingLoopback()
        let (outcomes, report) = AsyncStream.makeStream(of: OAuthLoopbackLogin.Outcome.self)
        let server = OAuthCallbackServer(host: "127.0.0.1", port: loopbackPort, logger: logger) { query in
            guard let login = await pending.login else { return .init(status: 503, location: nil, html: "not ready") }
            let outcome = await login.finish(query: query)
            if outcome != .ignored { report.yield(outcome) }
            switch outcome {
            case .stored: return .init(status: 200, location: nil, html: Self.page("Mailbox connected", "You can close this window."))
            case .ignored: return .init(status: 400, location: nil, html: Self.page("Not this login", "This answer is not for the login under way."))
            case .failed: return .init(status: 400, location: nil, html: Self.page("Mailbox not connected", "See the command's output."))
            }
        }
        let name = account
        let app = server.application { port in
            let login = OAuthLoopbackLogin(tokens: tokens, client: client, account: accountID, port: port)
            do {
                let url = try login.authorizationURL(loginHint: loginHint)
                await pending.set(login)
                FileHandle.standardOutput.write(Data("""
                    To log account \(name) in, open this URL in a browser on this machine:
                    \(url)
                    Waiting for the browser to come back to \(login.redirectURI) …

                    """.utf8))
            } catch {
                report.yield(.failed("\(error)"))
            }
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let running = Task { try await group.run() }
        let outcome = await withTaskGroup(of: OAuthLoopbackLogin.Outcome?.self) { tasks in
            tasks.addTask { await outcomes.first { _ in true } }
            tasks.addTask { try? await Task.sleep(for: Self.loopbackTimeout); return nil }
            let first = await tasks.next() ?? nil
            tasks.cancelAll()
            return first
        }
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        switch outcome {
        case .stored(let lifetime):
            print("account \(account): OAuth login stored (access token valid for \(lifetime) s); polling and sending resume")
        case .failed(let reason):
            throw ValidationError("account \(account): \(reason)")
        case .ignored, nil:
            throw ValidationError("account \(account): no browser came back within \(Self.loopbackTimeout.components.seconds / 60) minutes")
        }
    }

    static func page(_ title: String, _ text: String) -> String {
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>\(title)</title></head><body><h1>\(title)</h1><p>\(text)</p></body></html>\n"
    }
}

/// The loopback login once its port is known (its redirect URI names the port).
actor PendingLoopback {
    private(set) var login: OAuthLoopbackLogin?
    func set(_ login: OAuthLoopbackLogin) { self.login = login }
}

extension OAuthImportCommand {
    /// The tenant, account and OAuth client of `--tenant` / `--account`, or a clear error.
    static func findAccount(pool: PostgresPool, tenant: String, account: String) async throws -> (TenantID, AccountID, Int64) {
        let found = try await pool.withConnection { conn -> (TenantID, AccountID, Int64?)? in
            guard let t = try TenantQueries.tenantGetBySlug(conn, slug: tenant) else { return nil }
            return try conn.transaction(tenant: t.id) {
                guard let id = try MailAccountQueries.mailAccountFind(conn, tenant: t.id, nameOrAddress: account),
                      let record = try MailAccountQueries.mailAccountGet(conn, tenant: t.id, id: id) else { return nil }
                return (t.id, id, record.oauthClientID)
            }
        }
        guard let (tenantID, accountID, client) = found else {
            throw ValidationError("no account \"\(account)\" in tenant \"\(tenant)\"")
        }
        guard let client else {
            throw ValidationError("account \"\(account)\" does not log in with OAuth: set its imap_auth or smtp_auth to oauth2 and its oauth_client_id")
        }
        return (tenantID, accountID, client)
    }
}
