import Foundation
import MailCore
import MailCrypto
import MailDomain
import MailStore
import MailTransport

/// An operator's login through a loopback redirect (RFC 8252 §7.3), for a client without a device
/// flow: `mailroom oauth login` listens on 127.0.0.1, prints the authorization URL (PKCE S256, a random
/// state), and the browser comes back to `http://127.0.0.1:PORT/oauth/callback` on the same machine.
/// The state and verifier live only in the command's memory.
public struct OAuthLoopbackLogin: Sendable {
    let tokens: OAuthTokens
    public let client: OAuthClientRecord
    public let account: AccountID
    public let redirectURI: String
    let state: String
    let verifier: Secret

    /// Base64url without padding (RFC 4648 §5), as RFC 7636 §4.1–4.2 wants it.
    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init(tokens: OAuthTokens, client: OAuthClientRecord, account: AccountID, port: Int) {
        self.tokens = tokens
        self.client = client
        self.account = account
        self.redirectURI = "http://127.0.0.1:\(port)/oauth/callback"
        self.state = Self.base64url(SecureRandom.bytes(32))
        self.verifier = Secret(Self.base64url(SecureRandom.bytes(48)))
    }

    /// The URL to open in a browser. `loginHint`: the mailbox's user name, when known.
    public func authorizationURL(loginHint: String?) throws -> String {
        guard let base = client.authorizationURL, var url = URLComponents(string: base) else {
            throw DeviceFlowError(description: "the OAuth client has neither a device_authorization_url nor an authorization_url")
        }
        var items = url.queryItems ?? []
        items += [URLQueryItem(name: "response_type", value: "code"), URLQueryItem(name: "client_id", value: client.clientID),
                  URLQueryItem(name: "redirect_uri", value: redirectURI), URLQueryItem(name: "scope", value: client.scopes.joined(separator: " ")),
                  URLQueryItem(name: "state", value: state),
                  URLQueryItem(name: "code_challenge", value: Self.base64url(SHA256.hash(verifier.value))),
                  URLQueryItem(name: "code_challenge_method", value: "S256")]
        if let loginHint, !loginHint.isEmpty { items.append(URLQueryItem(name: "login_hint", value: loginHint)) }
        if client.provider == .google {
            items += [URLQueryItem(name: "access_type", value: "offline"), URLQueryItem(name: "prompt", value: "consent")]
        }
        url.percentEncodedQuery = items.map { "\(Self.formEscape($0.name))=\(Self.formEscape($0.value ?? ""))" }.joined(separator: "&")
        guard let text = url.string else { throw DeviceFlowError(description: "the client's authorization_url is not a URL") }
        return text
    }

    static func formEscape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// What came of one request to the loopback callback.
    public enum Outcome: Sendable, Equatable {
        /// Stored; the access token lives this many seconds.
        case stored(Int)
        /// Not for this login (another state, or none): keep waiting.
        case ignored
        case failed(String)
    }

    /// Handles the browser's return: checks the state, exchanges the code with the verifier and stores
    /// the login. Never returns a code or a token in a reason.
    public func finish(query: [String: String]) async -> Outcome {
        guard let returned = query["state"], ConstantTime.equals(Array(returned.utf8), Array(state.utf8)) else { return .ignored }
        if let error = query["error"] { return .failed("the provider did not grant access: \(OAuthTokenAnswer.clean(error))") }
        guard let code = query["code"], !code.isEmpty else { return .failed("the provider's answer has no authorization code") }
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier.value)]
        do {
            return try await tokens.pool.transaction(tenant: client.tenantID) { conn -> Outcome in
                let http = try tokens.post(form, to: client.tokenURL, client: client)
                switch OAuthTokenAnswer.interpret(status: http.status, contentType: http.contentType, retryAfter: http.retryAfter, body: http.body) {
                case .tokens(let access, let refresh?, let expiresIn, _):
                    try tokens.storeVerifiedLogin(conn, tenant: client.tenantID, account: account, accessToken: access,
                                                  refreshToken: refresh, expiresIn: expiresIn)
                    return .stored(expiresIn)
                case .tokens(_, nil, _, _):
                    return .failed("the provider issued no refresh token (offline access was not granted)")
                case .invalidGrant(let reason), .failed(let reason), .retryLater(let reason, _):
                    return .failed("the provider refused the login: \(reason)")
                }
            }
        } catch {
            return .failed("\(error)")
        }
    }
}
