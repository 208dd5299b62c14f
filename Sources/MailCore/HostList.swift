/// An operator's list of hosts: CIDR blocks (`10.0.0.0/8`, `::1/128`, or a bare address for one
/// host) and host names (`localhost`, `mail.internal.example`), written comma-separated in one
/// setting. Parsing is strict: an entry that is neither a valid CIDR nor a valid host name is an
/// error, never skipped.
public struct HostList: Sendable, Equatable {
    public struct Network: Sendable, Equatable, CustomStringConvertible {
        public var address: IPAddress
        public var prefix: Int
        public var description: String { "\(address)/\(prefix)" }
    }

    public private(set) var networks: [Network] = []
    /// Lowercased, without a trailing dot.
    public private(set) var names: Set<String> = []

    public init() {}

    public var isEmpty: Bool { networks.isEmpty && names.isEmpty }

    /// Parses `text` (an empty or all-blank text is the empty list). `setting` names the variable
    /// in error messages.
    public init(parsing text: String, setting: String) throws(SettingError) {
        let trimmed = text.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { return }
        for raw in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = String(raw).trimmingASCIIWhitespace()
            guard !entry.isEmpty else { throw SettingError(setting, "empty entry in \(quotedSetting(text))") }
            if entry.contains("/") {
                networks.append(try Self.network(entry, setting: setting))
            } else if let address = IPAddress(strict: entry) {
                networks.append(Network(address: address, prefix: address.bytes.count * 8))
            } else if Self.isHostName(entry) {
                names.insert(Self.normalized(entry))
            } else {
                throw SettingError(setting, "\(quotedSetting(entry)) is neither a CIDR block, an IP address nor a host name")
            }
        }
    }

    /// True when `address` lies in one of the networks. An IPv4 address carried in IPv6 (mapped,
    /// NAT64, …) matches the IPv4 networks too.
    public func contains(_ address: IPAddress) -> Bool {
        let candidates = [address] + (address.embeddedIPv4.map { [$0] } ?? [])
        return candidates.contains { a in networks.contains { a.matches($0.address, prefix: $0.prefix) } }
    }

    /// True when `host` (as configured on an account) is one of the names.
    public func contains(name host: String) -> Bool {
        names.contains(Self.normalized(host))
    }

    static func normalized(_ name: String) -> String {
        var n = name.lowercased()
        if n.hasSuffix(".") { n.removeLast() }
        return n
    }

    private static func network(_ entry: String, setting: String) throws(SettingError) -> Network {
        let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(strict: String(parts[0])),
            !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), parts[1].count <= 3,
            let prefix = Int(parts[1]), prefix <= address.bytes.count * 8
        else { throw SettingError(setting, "\(quotedSetting(entry)) is not a valid CIDR block") }
        // Host bits set (10.0.0.1/8) usually mean a typo: refuse rather than guess.
        let masked = IPAddress(bytes: address.bytes.enumerated().map { i, byte in
            let bits = max(0, min(8, prefix - i * 8))
            return bits == 8 ? byte : byte & ~(0xff >> UInt8(bits))
        })!
        guard masked == address else {
            throw SettingError(setting, "\(quotedSetting(entry)) has host bits set (did you mean \(masked)/\(prefix)?)")
        }
        return Network(address: address, prefix: prefix)
    }

    /// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1–63
    /// characters each, 253 in all; an optional trailing dot. All-numeric last labels are refused
    /// (they would be read as IPv4).
    static func isHostName(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.count), label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
                label.first != "-", label.last != "-" else { return false }
        }
        return !labels.last!.allSatisfy { $0.isNumber }
    }
}

/// A malformed operator setting: names the variable and what is wrong, never guesses a default.
public struct SettingError: Error, Sendable, CustomStringConvertible, Equatable {
    public var setting: String
    public var problem: String
    public init(_ setting: String, _ problem: String) {
        self.setting = setting
        self.problem = problem
    }
    public var description: String { "\(setting): \(problem)" }
}

func quotedSetting(_ text: String) -> String { "\"\(text)\"" }

extension String {
    func trimmingASCIIWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
