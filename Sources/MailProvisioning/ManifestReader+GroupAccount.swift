import MailCore
import MailDomain
import Yams

/// Group accounts: identity, IMAP, SMTP, teams, polling and size limits.
extension ManifestReader {
    static let groupAccountKeys = [
        "name", "address", "display_name", "reply_to", "active", "imap", "smtp", "teams", "poll_interval",
        "max_message_size", "case", "auto_reply", "aliases",
    ]
    static let imapKeys = [
        "host", "port", "security", "verify_tls", "username", "password", "auth", "oauth_client", "folders",
        "fetch_since", "keep_unread", "sent_folder",
    ]
    static let smtpKeys = [
        "host", "port", "security", "verify_tls", "username", "password", "auth", "oauth_client", "shared", "store_sent",
        "max_connections",
    ]

    func readGroupAccounts(_ root: MappingReader) -> [Manifest.GroupAccount] {
        var registry = NameRegistry(kind: "group account")
        var result: [Manifest.GroupAccount] = []
        for (path, node) in root.sequence("group_accounts") {
            guard let map = MappingReader(node, path: path, keys: Self.groupAccountKeys, diagnostics: diagnostics)
            else { continue }
            let name = map.requiredString("name")
            if let name {
                _ = registry.register(name, path: map.child("name"), node: map.value("name"), diagnostics: diagnostics)
            }
            let address = map.has("address") ? map.email("address") : nil
            if !map.has("address") { map.reportMissing("address") }
            if let address, let name {
                claim(address, owner: "group account \(quoted(name))", path: map.child("address"),
                      node: map.value("address")!)
            }
            // Aliases are claimed like mailbox addresses: an address names one mailbox of the tenant.
            let aliases = map.emails("aliases")
            if let name {
                for alias in aliases {
                    claim(alias.address, owner: "group account \(quoted(name))", path: alias.path, node: alias.node)
                }
            }
            let displayName = map.string("display_name") ?? name
            let replyTo = map.email("reply_to")
            let active = map.bool("active", default: true)
            let imap = readIMAP(map, address: address)
            let smtp = readSMTP(map, address: address, imap: imap)
            var teamNames = NameRegistry(kind: "team")
            for (teamPath, teamNode) in map.sequence("teams") {
                guard let team = MappingReader.string(teamNode, path: teamPath, diagnostics: diagnostics) else { continue }
                guard teams[team] != nil else {
                    diagnostics.report(map.child("teams"), teamNode, "unknown team \(quoted(team))")
                    continue
                }
                _ = teamNames.register(team, path: teamPath, node: teamNode, diagnostics: diagnostics)
            }
            let pollInterval = map.duration(
                "poll_interval", default: Manifest.GroupAccount.defaultPollInterval,
                minimum: Manifest.GroupAccount.minimumPollInterval)
            let maxMessageSize = map.byteSize("max_message_size", default: Manifest.GroupAccount.defaultMaxMessageSize)
            let caseRules = readCaseRules(map)
            let autoReply = address.flatMap { address in
                readAutoReply(map, address: address, displayName: displayName ?? address.address,
                              createsCases: caseRules.create)
            }
            guard let name, let address, let displayName, let imap else { continue }
            result.append(Manifest.GroupAccount(
                name: name, address: address, displayName: displayName, replyTo: replyTo, active: active, imap: imap,
                smtp: smtp, teams: teamNames.names, pollInterval: pollInterval, maxMessageSize: maxMessageSize,
                caseRules: caseRules, autoReply: autoReply, aliases: aliases.map(\.address)))
        }
        return result
    }

    func readIMAP(_ account: MappingReader, address: Manifest.EmailAddress?) -> Manifest.IMAP? {
        guard account.has("imap") else {
            account.reportMissing("imap")
            return nil
        }
        guard let map = account.mapping("imap", keys: Self.imapKeys) else { return nil }
        let auth = map.enumeration("auth", default: Manifest.IMAPAuth.password)
        let oauth = readOAuthReference(map, oauth: auth == .oauth2)
        var password: Secret?
        if auth == .oauth2 {
            if map.has("password") { map.report("password", "not used with auth: oauth2 (the account logs in with a token)") }
        } else {
            if !map.has("password") { map.reportMissing("password") }
            password = map.secret("password", environment: environment)
        }
        // A missing, unknown or broken client is reported already; without it the preset servers are unknown.
        if auth == .oauth2, oauth.client == nil { return nil }
        // IMAP always logs in: without TLS the password (or the bearer token) travels in clear text.
        let endpoint = readEndpoint(map, defaultPort: Manifest.IMAP.defaultPort(for:), sendsPassword: true,
                                    preset: oauth.client?.preset?.imap)
        let username = map.string("username") ?? address?.original
        let folders = map.has("folders") ? map.strings("folders", kind: "folder") : ["INBOX"]
        if map.has("folders"), folders.isEmpty, map.sequence("folders").isEmpty {
            map.report("folders", "must list at least one folder")
        }
        let fetchSince = map.date("fetch_since")
        let keepUnread = map.bool("keep_unread", default: false)
        let sentFolder = map.string("sent_folder")
        guard let endpoint, let username, auth == .oauth2 || password != nil else { return nil }
        return Manifest.IMAP(
            host: endpoint.host, port: endpoint.port, security: endpoint.security, verifyTLS: endpoint.verifyTLS,
            username: username, password: password, auth: auth, oauthClient: oauth.name, folders: folders,
            fetchSince: fetchSince, keepUnread: keepUnread, sentFolder: sentFolder)
    }

    func readSMTP(
        _ account: MappingReader, address: Manifest.EmailAddress?, imap: Manifest.IMAP?
    ) -> Manifest.SMTP? {
        guard let map = account.mapping("smtp", keys: Self.smtpKeys) else { return nil }
        let auth = map.enumeration("auth", default: Manifest.SMTPAuth.plain)
        let oauth = readOAuthReference(map, oauth: auth == .oauth2)
        // One grant per account (`oauth_grant`), so one client for both directions.
        if let name = oauth.name, let other = imap?.oauthClient, other != name {
            map.report("oauth_client", "must be imap's client \(quoted(other)) (an account has one OAuth login)")
        }
        if (auth == .none || auth == .oauth2), map.has("password") {
            map.report("password", "not used when auth is \(auth.rawValue)")
        }
        // A missing, unknown or broken client is reported already; without it the preset servers are unknown.
        if auth == .oauth2, oauth.client == nil { return nil }
        let endpoint = readEndpoint(map, defaultPort: Manifest.SMTP.defaultPort(for:), sendsPassword: auth != .none,
                                    preset: oauth.client?.preset?.smtp)
        let username = map.string("username") ?? address?.original
        var password: Secret?
        if auth == .plain || auth == .login {
            guard map.has("password") else {
                map.reportMissing("password", "required unless auth is none or oauth2")
                return nil
            }
            password = map.secret("password", environment: environment)
            if password == nil { return nil }
        }
        let shared = map.bool("shared", default: false)
        let storeSent = map.bool("store_sent", default: false)
        let maxConnections = map.int("max_connections", default: Manifest.SMTP.defaultMaxConnections, in: 1...20)
        if storeSent, imap != nil, imap?.sentFolder == nil {
            map.report("store_sent", "needs imap.sent_folder")
        }
        guard let endpoint, let username else { return nil }
        return Manifest.SMTP(
            host: endpoint.host, port: endpoint.port, security: endpoint.security, verifyTLS: endpoint.verifyTLS,
            username: username, password: password, auth: auth, oauthClient: oauth.name, shared: shared,
            storeSent: storeSent, maxConnections: maxConnections ?? Manifest.SMTP.defaultMaxConnections)
    }

    private struct Endpoint {
        var host: String
        var port: Int
        var security: Manifest.Security
        var verifyTLS: Bool
    }

    /// host, port (defaulted from security), security (default tls) and verify_tls (default true); with
    /// an OAuth provider's `preset`, host and security default to the provider's server, and so does
    /// the port unless the account chose another security.
    /// A password in clear text is refused early unless the operator's outbound policy lists the
    /// host in `MAILROOM_INSECURE_HOSTS` (the same decision the worker makes when it connects, which
    /// also checks the destination's address and `verify_tls: false`).
    private func readEndpoint(_ map: MappingReader, defaultPort: (Manifest.Security) -> Int, sendsPassword: Bool,
                              preset: OAuthProviderPreset.Server? = nil) -> Endpoint? {
        let host = map.has("host") || preset == nil ? map.requiredString("host") : preset?.host
        if let host, host.contains(where: { $0.isWhitespace || $0 == "/" }) {
            map.report("host", "invalid host \(quoted(host)) (a host name or IP address, without scheme or path)")
        }
        let presetSecurity = preset.flatMap { Manifest.Security(rawValue: $0.security.rawValue) }
        let security = map.enumeration("security", default: presetSecurity ?? Manifest.Security.tls)
        let port = map.int("port", default: security == presetSecurity ? preset?.port : defaultPort(security), in: 1...65535)!
        let verifyTLS = map.bool("verify_tls", default: true)
        if security == .none, sendsPassword, let host {
            switch Result(catching: { () throws(SettingError) in try OutboundPolicy.fromEnvironment(environment) }) {
            case .failure(let error):
                map.report("security", "none needs a valid operator setting: \(error)")
            case .success(let policy):
                if let refusal = policy.insecureRefusal(host: host, address: nil, use: .clearTextLogin) {
                    map.report("security", "none sends the password in clear text: \(refusal.rule)")
                }
            }
        }
        guard let host else { return nil }
        return Endpoint(host: host, port: port, security: security, verifyTLS: verifyTLS)
    }
}
