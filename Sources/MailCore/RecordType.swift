/// The kinds of CRM record an email can belong to (`email.parent_type`, stream entries, follows,
/// notifications, signed Message-ID tokens). Raw values are the strings stored in the database.
public enum RecordType: String, Sendable, CaseIterable, Codable {
    case supportCase = "case"
    case contact
    case account
    case lead
    case opportunity
}

/// A reference to one CRM record of a tenant.
public struct RecordRef: Sendable, Hashable, Codable, CustomStringConvertible {
    public var type: RecordType
    public var id: Int64
    public init(_ type: RecordType, _ id: Int64) {
        self.type = type
        self.id = id
    }
    public var description: String { "\(type.rawValue)/\(id)" }
}
