/// One CRM record behind an email address (`email_address_owner`), as linking needs it.
public struct AddressOwner: Sendable, Equatable {
    public var address: String
    /// `.contact`, `.account` or `.lead` (users are not records; opportunities have no addresses).
    public var type: RecordType
    public var id: Int64
    /// For contacts: the contact's account, if any.
    public var contactAccountID: Int64?
    public var isPrimary: Bool
    public var position: Int

    public init(address: String, type: RecordType, id: Int64, contactAccountID: Int64? = nil, isPrimary: Bool = false,
                position: Int = 0) {
        self.address = address.lowercased()
        self.type = type
        self.id = id
        self.contactAccountID = contactAccountID
        self.isPrimary = isPrimary
        self.position = position
    }
}
