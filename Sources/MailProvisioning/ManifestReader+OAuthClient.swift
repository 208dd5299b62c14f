import Foundation
import MailCore
import MailDomain
import Yams

/// OAuth clients (`oauth_clients:`) and how accounts refer to them (`auth: oauth2`, `oauth_client`).
extension ManifestReader {
    static let oauthClientKeys = [
        "name", "provider", "client_id", "client_secret", "tenant", "authorization_url", "token_url",
        "device_authorization_url", "scopes", "secret_expires_at",
    ]

    func readOAuthClients(_ root: MappingReader) -> [Manifest.OAuthClient] {
        var result: [Manifest.OAuthClient] = []
        for (path, node) in root.sequence("oauth_clients") {
            guard let map = MappingReader(node, path: path, keys: Self.oauthClientKeys, diagnostics: diagnostics)
            else { continue }
            let name = map.requiredString("name")
            if let name {
                _ = oauthClientNames.register(name, path: map.child("name"), node: map.value("name"), diagnostics: diagnostics)
            }
            var provider: OAuthProvider?
            if map.has("provider") {
                let chosen = map.enumeration("provider", default: OAuthProvider.generic)
                if map.value("provider")?.scalar?.string == chosen.rawValue { provider = chosen }
            } else {
                map.reportMissing("provider")
            }
            let clientID = map.requiredString("client_id")
            let clientSecret = map.secret("client_secret", environment: environment)
            let directory = map.string("tenant") ?? OAuthProviderPreset.defaultMicrosoftDirectory
            if map.has("tenant"), provider != .microsoft {
                map.report("tenant", "only used with provider microsoft")
            } else if directory.isEmpty || !directory.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) {
                map.report("tenant", "invalid directory \(quoted(directory)) (organizations, common, consumers, a domain or a tenant id)")
            }
            let preset = provider.flatMap { OAuthProviderPreset.of($0, directory: directory) }
            let authorizationURL = endpointURL(map, "authorization_url") ?? preset?.authorizationURL
            let deviceURL = endpointURL(map, "device_authorization_url") ?? preset?.deviceAuthorizationURL
            let tokenURL = endpointURL(map, "token_url") ?? preset?.tokenURL
            var scopes = preset?.scopes ?? []
            if map.has("scopes") {
                scopes = map.strings("scopes", kind: "scope")
                if scopes.isEmpty, map.sequence("scopes").isEmpty { map.report("scopes", "must list at least one scope") }
                for scope in scopes where scope.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "\\" }) {
                    map.report("scopes", "invalid scope \(quoted(scope)) (one scope per item, no spaces)")
                }
            }
            if provider == .generic {
                if !map.has("token_url") { map.reportMissing("token_url", "required with provider generic") }
                if !map.has("scopes") { map.reportMissing("scopes", "required with provider generic") }
            }
            let secretExpiresAt = map.date("secret_expires_at")
            if map.has("secret_expires_at"), !map.has("client_secret") {
                map.report("secret_expires_at", "needs client_secret")
            }
            guard let name, let provider, let clientID, let tokenURL, !scopes.isEmpty else { continue }
            if map.has("client_secret"), clientSecret == nil { continue }
            let client = Manifest.OAuthClient(
                name: name, provider: provider, clientID: clientID, clientSecret: clientSecret, directory: directory,
                authorizationURL: authorizationURL, tokenURL: tokenURL, deviceAuthorizationURL: deviceURL, scopes: scopes,
                secretExpiresAt: secretExpiresAt)
            oauthClients[name] = client
            result.append(client)
        }
        return result
    }

    /// An absolute `https://` URL; plain `http://` only when the operator lists its host in
    /// `MAILROOM_INSECURE_HOSTS` (the client secret and tokens travel in the request), the same
    /// decision the worker makes before it sends a token request.
    private func endpointURL(_ map: MappingReader, _ key: String) -> String? {
        guard let (text, https, bareHost) = map.httpURL(key) else { return nil }
        if !https {
            switch Result(catching: { () throws(SettingError) in try OutboundPolicy.fromEnvironment(environment) }) {
            case .failure(let error):
                map.report(key, "http:// needs a valid operator setting: \(error)")
                return nil
            case .success(let policy):
                if policy.insecureRefusal(host: bareHost, address: nil, use: .clearTextLogin) != nil {
                    map.report(key, "must use https:// (http:// sends secrets in clear text; \(quoted(bareHost)) is not in \(OutboundPolicy.insecureHostsVariable))")
                    return nil
                }
            }
        }
        return text
    }

    /// `auth` and `oauth_client` of an account's `imap` or `smtp`: the client when `auth` is `oauth2`
    /// (which must name a client of `oauth_clients`), nil otherwise (and `oauth_client` is refused).
    func readOAuthReference(_ map: MappingReader, oauth: Bool) -> (name: String?, client: Manifest.OAuthClient?) {
        guard oauth else {
            if map.has("oauth_client") { map.report("oauth_client", "only used with auth: oauth2") }
            return (nil, nil)
        }
        guard let name = map.string("oauth_client") else {
            if !map.has("oauth_client") { map.reportMissing("oauth_client", "required with auth: oauth2") }
            return (nil, nil)
        }
        guard oauthClientNames.contains(name) else {
            map.report("oauth_client", "unknown OAuth client \(quoted(name)) (define it under oauth_clients)")
            return (nil, nil)
        }
        return (name, oauthClients[name])
    }
}
