import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailStore
import MailTransport

/// The end of a login begun in the CRM (`mailroom_oauth_begin`, docs/oauth.md): the provider sends the
/// browser to `/oauth/callback?code=…&state=…` (or `?error=…&state=…`, RFC 6749 §4.1.2.1).
///
/// - The state names a pending login (its SHA-256 is the row's key): unknown, already used or expired
///   gives a 400 page and stores nothing.
/// - The code is exchanged at the client's token endpoint with the PKCE verifier (RFC 7636 §4.5),
///   through the outbound host policy; the tokens are stored as the account's grant and the login is
///   marked used in the same transaction, which holds the login's row lock (two requests with one state:
///   the second waits, then finds it used).
/// - A login that fails after its state was accepted (the provider's `error=`, a refused code) is
///   marked used too: a state is good for one try.
/// - Success is a 303 to the login's return URL, checked again against this worker's allow-list.
/// No page and no log line carries a code, a verifier or a token.
public struct OAuthCallback: Sendable {
    let tokens: OAuthTokens
    let pool: PostgresPool
    let settings: OAuthCallbackSettings
    let logger: Logger

    public init(pool: PostgresPool, keyring: SecretKeyring, policy: OutboundPolicy, settings: OAuthCallbackSettings, logger: Logger) {
        self.pool = pool
        self.tokens = OAuthTokens(pool: pool, keyring: keyring, policy: policy, logger: logger)
        self.settings = settings
        self.logger = logger
    }

    /// What to answer the browser.
    public struct Page: Sendable, Equatable {
        public var status: Int
        /// For a redirect (303).
        public var location: String?
        public var html: String
    }

    /// Publishes this worker's public URL and return URL prefixes for `mailroom_oauth_begin`.
    public func publishSettings() async throws {
        let settings = self.settings
        try await pool.withConnection { conn in
            try OAuthLoginStateQueries.callbackSettingPublish(conn, publicBaseURL: settings.publicBaseURL,
                                                             returnURLPrefixes: settings.returnURLPrefixes)
        }
    }

    /// Handles one callback request with query parameters `query`.
    public func handle(query: [String: String]) async -> Page {
        guard let state = query["state"], !state.isEmpty, state.count <= 128 else {
            return Self.refusal(400, "This link has no valid login state. Start connecting the mailbox again.")
        }
        let code = query["code"]
        let providerError = query["error"].map(OAuthTokenAnswer.clean)
        let now = tokens.now
        do {
            return try await pool.transaction(tenant: nil) { conn -> Page in
                guard let login = try OAuthLoginStateQueries.loginStateTake(conn, state: state) else {
                    logger.warning("OAuth callback with an unknown state")
                    return Self.refusal(400, "This login link is not known. Start connecting the mailbox again.")
                }
                let fields: Logger.Metadata = ["tenant_id": "\(login.tenantID)", "account_id": "\(login.accountID)", "login": "\(login.id)"]
                if login.usedAt != nil {
                    logger.warning("OAuth callback with a used state", metadata: fields)
                    return Self.refusal(400, "This login link was already used. Start connecting the mailbox again.")
                }
                if login.expiresAt <= now() {
                    logger.warning("OAuth callback with an expired state", metadata: fields)
                    return Self.refusal(400, "This login link expired (after 10 minutes). Start connecting the mailbox again.")
                }
                let page = try finish(conn, login: login, code: code, providerError: providerError, fields: fields)
                return page
            }
        } catch {
            logger.error("OAuth callback failed", metadata: ["error": "\(error)"])
            return Self.refusal(500, "The login could not be completed because of a server error. Try again later.")
        }
    }

    /// The accepted login: exchange, store, mark used. Runs in the transaction holding the login's lock.
    func finish(_ conn: PostgresConnection, login: OAuthLoginStateRecord, code: String?, providerError: String?,
                fields: Logger.Metadata) throws -> Page {
        func fail(_ outcome: String, _ message: String) throws -> Page {
            try OAuthLoginStateQueries.loginStateMarkUsed(conn, tenant: login.tenantID, id: login.id, outcome: outcome)
            logger.warning("OAuth login not stored", metadata: fields.merging(["outcome": "\(outcome)"]) { $1 })
            return Self.refusal(400, message)
        }
        if let providerError {
            return try fail(String(providerError.prefix(60)), "The provider did not grant access (\(providerError)). Nothing was stored.")
        }
        guard let code, !code.isEmpty else { return try fail("no_code", "The provider's answer has no authorization code. Nothing was stored.") }
        guard settings.allowsReturn(to: login.returnURL) else {
            return try fail("return_url_not_allowed", "The return address of this login is not allowed. Nothing was stored.")
        }
        guard let client = try OAuthGrantQueries.clientGet(conn, tenant: login.tenantID, id: login.clientID) else {
            return try fail("client_gone", "The mailbox's OAuth client no longer exists. Nothing was stored.")
        }
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", login.redirectURI),
                    ("code_verifier", login.codeVerifier.value)]
        let answer: OAuthTokenAnswer
        do {
            let http = try tokens.post(form, to: client.tokenURL, client: client)
            answer = OAuthTokenAnswer.interpret(status: http.status, contentType: http.contentType, retryAfter: http.retryAfter, body: http.body)
        } catch let error as TransportError {
            logger.warning("OAuth token endpoint unreachable", metadata: fields.merging(["error": "\(error)"]) { $1 })
            return try fail("token_endpoint_unreachable", "The provider's token endpoint could not be reached. Nothing was stored; start again.")
        }
        switch answer {
        case .tokens(let access, let refresh?, let expiresIn, _):
            do {
                try tokens.storeVerifiedLogin(conn, tenant: login.tenantID, account: login.accountID, accessToken: access,
                                              refreshToken: refresh, expiresIn: expiresIn)
            } catch let error as MailboxIdentityError {
                return try fail("wrong_mailbox", "The mailbox was not connected: \(error.description).")
            }
            try OAuthLoginStateQueries.loginStateMarkUsed(conn, tenant: login.tenantID, id: login.id, outcome: "stored")
            logger.notice("OAuth login stored", metadata: fields.merging(["user_id": "\(login.userID)", "expires_in": "\(expiresIn)"]) { $1 })
            return Page(status: 303, location: login.returnURL,
                        html: Self.document("Mailbox connected", "The mailbox is connected. <a href=\"\(Self.escape(login.returnURL))\">Continue</a>."))
        case .tokens(_, nil, _, _):
            return try fail("no_refresh_token", "The provider issued no refresh token (offline access was not granted). Nothing was stored.")
        case .invalidGrant(let reason), .failed(let reason), .retryLater(let reason, _):
            return try fail("exchange_failed", "The provider refused the login: \(reason). Nothing was stored; start again.")
        }
    }

    static func refusal(_ status: Int, _ message: String) -> Page {
        Page(status: status, location: nil, html: document("Mailbox not connected", escape(message)))
    }

    static func document(_ title: String, _ body: String) -> String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>\(title)</title></head>
        <body><h1>\(title)</h1><p>\(body)</p></body></html>

        """
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
