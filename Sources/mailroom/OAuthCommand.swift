import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailWorker

/// `mailroom oauth …`: OAuth 2.0 logins of mail accounts (docs/oauth.md).
struct OAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oauth",
        abstract: "OAuth 2.0 logins of mail accounts.",
        subcommands: [OAuthImportCommand.self])
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
        let (slug, name) = (tenant, account)
        let found = try await pool.withConnection { conn -> (TenantID, AccountID, Int64?)? in
            guard let t = try TenantQueries.tenantGetBySlug(conn, slug: slug) else { return nil }
            return try conn.transaction(tenant: t.id) {
                guard let id = try MailAccountQueries.mailAccountFind(conn, tenant: t.id, nameOrAddress: name),
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
