/// Typed identifiers. Each wraps the database's `bigint` key (or an IMAP number) so that a
/// tenant id can never be passed where an account id is expected (STYLE.md §3).
public protocol TypedIdentifier: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    var rawValue: Int64 { get }
    init(_ rawValue: Int64)
}

extension TypedIdentifier {
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(Int64.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

public struct TenantID: TypedIdentifier { public let rawValue: Int64; public init(_ v: Int64) { rawValue = v } }
public struct UserID: TypedIdentifier { public let rawValue: Int64; public init(_ v: Int64) { rawValue = v } }
public struct TeamID: TypedIdentifier { public let rawValue: Int64; public init(_ v: Int64) { rawValue = v } }
public struct AccountID: TypedIdentifier { public let rawValue: Int64; public init(_ v: Int64) { rawValue = v } }
public struct FolderID: TypedIdentifier { public let rawValue: Int64; public init(_ v: Int64) { rawValue = v } }
public struct EmailID: TypedIdentifier { public let rawValue: Int64; public init(_ v: Int64) { rawValue = v } }
