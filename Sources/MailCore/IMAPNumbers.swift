/// An IMAP unique identifier (RFC 3501 §2.3.1.1): 32-bit, non-zero, strictly ascending within one
/// UIDVALIDITY epoch. Distinct from a message sequence number, which we never store.
public struct UID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (l: UID, r: UID) -> Bool { l.rawValue < r.rawValue }
    public var description: String { String(rawValue) }
}

/// The mailbox's UIDVALIDITY (RFC 3501 §2.3.1.1). When it changes, every stored UID is meaningless.
public struct UIDValidity: Hashable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}
