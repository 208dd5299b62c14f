import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailStore
import MailWorker

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

    func run() async throws {
        try global.bootstrapLogging()
        let (policy, _) = try global.outboundSettings()
        let keyring = try global.resolveKeyring()
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        let (tenantID, accountID, clientID) = try await OAuthImportCommand.findAccount(pool: pool, tenant: tenant, account: account)
        var logger = Logger(label: "mailroom.oauth")
        logger.logLevel = .warning
        let login = OAuthDeviceLogin(tokens: OAuthTokens(pool: pool, keyring: keyring, policy: policy, logger: logger))
        guard let client = try await login.client(tenant: tenantID, id: clientID) else {
            throw ValidationError("account \(account): its OAuth client is gone")
        }
        guard client.deviceAuthorizationURL != nil else {
            throw ValidationError("account \(account): OAuth client \"\(client.name)\" has no device flow (no device_authorization_url); "
                                  + "connect the mailbox from the CRM (mailroom_oauth_begin) or with `mailroom oauth import`")
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
        }
    }
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
