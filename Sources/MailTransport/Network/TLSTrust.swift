#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailCore

/// Which certificate authorities verified TLS trusts: the system store, plus the certificates of an
/// optional PEM file the operator names in `MAILROOM_TLS_CA_FILE` (a private CA, or a test
/// server's self-signed certificate). Adding a file never removes the system store.
public struct TLSTrust: Sendable, Hashable {
    public static let caFileVariable = OutboundPolicy.caFileVariable

    /// A PEM file of extra trusted certificates; nil for the system store alone.
    public var extraCAFile: String?

    public init(extraCAFile: String? = nil) { self.extraCAFile = extraCAFile }

    /// Reads `MAILROOM_TLS_CA_FILE`. Unset or empty: the system store alone. A file that cannot be
    /// read is an error, never silently ignored (connections would then fail verification far from
    /// the cause).
    public static func fromEnvironment(_ environment: [String: String]) throws(SettingError) -> TLSTrust {
        guard let path = environment[caFileVariable], !path.isEmpty else { return TLSTrust() }
        return try TLSTrust(checking: path)
    }

    /// The trust of a policy (`OutboundPolicy.caFile`), its file checked readable.
    public init(policy: OutboundPolicy) throws(SettingError) {
        if let path = policy.caFile { try self.init(checking: path) } else { self.init() }
    }

    private init(checking path: String) throws(SettingError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SettingError(Self.caFileVariable, "cannot read \"\(path)\": \(systemError(errno))") }
        closeDescriptor(fd)
        self.init(extraCAFile: path)
    }
}
