/// One header field of a message, in the order it appeared.
public struct HeaderField: Sendable, Hashable, Codable {
    /// The field name as written (case preserved).
    public var name: String
    /// The value unfolded (RFC 5322 §2.2.3), RFC 2047-decoded to UTF-8 and trimmed, NUL-free.
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
