/// Where outbound connections (IMAP, SMTP, and later webhooks and OAuth endpoints) may go, and to
/// which hosts credentials may travel in clear text or over unverified TLS. Pure: the transport
/// resolves names and asks this type about each address it is about to connect to.
///
/// A destination is allowed when its address is global unicast, or when the operator listed it in
/// `MAILROOM_ALLOWED_HOSTS` (a CIDR block holding the address, or the host name exactly as the
/// account configures it). Nothing is allowed by special case: loopback is refused unless listed.
/// Clear-text login and unverified TLS need the host in `MAILROOM_INSECURE_HOSTS`, judged the same
/// way, in addition.
public struct OutboundPolicy: Sendable, Equatable {
    public static let allowedHostsVariable = "MAILROOM_ALLOWED_HOSTS"
    public static let insecureHostsVariable = "MAILROOM_INSECURE_HOSTS"
    public static let caFileVariable = "MAILROOM_TLS_CA_FILE"

    /// Non-global destinations the operator allows.
    public var allowed: HostList
    /// Destinations where a password may travel in clear text or TLS may go unverified.
    public var insecure: HostList
    /// A PEM file of certificate authorities verified TLS trusts besides the system store (a private
    /// CA, or a test server's self-signed certificate), from `MAILROOM_TLS_CA_FILE`; nil: the
    /// system store alone. The transport reads it; whoever reads the setting checks it is readable.
    public var caFile: String?

    /// The strictest policy: global addresses only, TLS verified, no clear-text login.
    public init(allowed: HostList = HostList(), insecure: HostList = HostList(), caFile: String? = nil) {
        self.allowed = allowed
        self.insecure = insecure
        self.caFile = caFile
    }

    /// Reads both lists; a malformed entry is an error. Unset variables are empty lists.
    public static func fromEnvironment(_ environment: [String: String]) throws(SettingError) -> OutboundPolicy {
        OutboundPolicy(
            allowed: try HostList(parsing: environment[allowedHostsVariable] ?? "", setting: allowedHostsVariable),
            insecure: try HostList(parsing: environment[insecureHostsVariable] ?? "", setting: insecureHostsVariable),
            caFile: environment[caFileVariable].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Why a connection to `address`, reached through the configured `host`, is refused; nil when
    /// allowed.
    public func refusal(host: String, address: IPAddress) -> HostRefusal? {
        let kind = AddressClass(address)
        if kind == .global || allowed.contains(name: host) || allowed.contains(address) { return nil }
        return HostRefusal(host: host, rule: "address class \(kind.rawValue), not in \(Self.allowedHostsVariable)")
    }

    /// The same judgement for a host not yet resolved: nil when `host` is a listed name, else the
    /// refusal of its address when it is an address literal (in any form the resolver accepts),
    /// else nil (a name is judged once resolved).
    public func refusal(host: String) -> HostRefusal? {
        guard !allowed.contains(name: host), let address = IPAddress(literal: host) else { return nil }
        return refusal(host: host, address: address)
    }

    /// What makes a connection insecure.
    public enum InsecureUse: String, Sendable {
        case clearTextLogin = "clear-text login"
        case unverifiedTLS = "unverified TLS"
        /// A webhook POSTed over plain HTTP (its signed body readable and replayable on the way).
        case plainHTTP = "plain HTTP"
    }

    /// The insecure use a connection configured this way makes, if any: a password over a
    /// connection without TLS, or TLS without certificate checks.
    public static func insecureUse(tls: Bool, verifyTLS: Bool, sendsPassword: Bool) -> InsecureUse? {
        if !tls && sendsPassword { return .clearTextLogin }
        if tls && !verifyTLS { return .unverifiedTLS }
        return nil
    }

    /// Why `use` is refused for `host` (connecting to `address`, when known); nil when the
    /// operator listed the name or a block holding the address in `MAILROOM_INSECURE_HOSTS`.
    /// Without an address, a host name that is not listed is refused (it cannot be proven to be in
    /// a listed block).
    public func insecureRefusal(host: String, address: IPAddress?, use: InsecureUse) -> HostRefusal? {
        if insecure.contains(name: host) { return nil }
        if let address = address ?? IPAddress(literal: host), insecure.contains(address) { return nil }
        return HostRefusal(host: host, rule: "\(use.rawValue), not in \(Self.insecureHostsVariable)")
    }
}

/// A refused destination: the host as configured and the rule that refused it. Says nothing about
/// the network beyond that (no address, no server answer), so it is safe to show the account's
/// owner.
public struct HostRefusal: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var rule: String
    public init(host: String, rule: String) {
        self.host = host
        self.rule = rule
    }
    public var description: String { "host \"\(host)\" refused: \(rule)" }
}
