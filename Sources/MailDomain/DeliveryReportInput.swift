/// What `DeliveryReport.recognize` reads from an imported email: plain values, so that any layer that has
/// parsed a message can build it (the store builds one from `NewEmail`).
public struct DeliveryReportInput: Sendable {
    /// Top-level header fields in order, values unfolded and decoded.
    public var headers: [(name: String, value: String)]
    /// The From address.
    public var from: String?
    public var subject: String?
    /// The chosen text/plain body.
    public var text: String?
    /// The leaves that are not the chosen body, in document order: `type/subtype` lower-cased and the decoded
    /// bytes (a `message/rfc822` part whole, `message/delivery-status` and `text/rfc822-headers` as leaves).
    public var parts: [(contentType: String, data: [UInt8])]

    public init(headers: [(name: String, value: String)], from: String?, subject: String?, text: String?,
                parts: [(contentType: String, data: [UInt8])]) {
        self.headers = headers
        self.from = from
        self.subject = subject
        self.text = text
        self.parts = parts
    }

    /// The value of the first header called `name` (lower-case ASCII), or nil.
    func header(_ name: String) -> String? {
        headers.first { HeaderName.equal($0.name, name) }?.value
    }

    func headers(named name: String) -> [String] {
        headers.filter { HeaderName.equal($0.name, name) }.map(\.value)
    }
}

/// Header-name comparison without bridging to Foundation (this runs for every imported email).
enum HeaderName {
    /// True when `name` equals `lowercased` ignoring ASCII case; `lowercased` must be lower-case ASCII.
    static func equal(_ name: String, _ lowercased: String) -> Bool {
        let (x, y) = (name.utf8, lowercased.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { a, b in (a >= 65 && a <= 90 ? a + 32 : a) == b }
    }
}
