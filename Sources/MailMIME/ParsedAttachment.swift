/// A MIME leaf that is not the chosen text or HTML body: a file attachment, an inline resource
/// (e.g. an image the HTML body references as `cid:`), a signature, or an embedded message.
public struct ParsedAttachment: Sendable, Hashable {
    /// The file name from `Content-Disposition: …; filename=` or `Content-Type: …; name=`, decoded
    /// from RFC 2231 or RFC 2047 form. Embedded messages get their subject + `.eml`.
    public var filename: String?
    /// `type/subtype`, lower-cased, without parameters.
    public var contentType: String
    /// The Content-ID without angle brackets, for resolving `cid:` URLs (RFC 2392).
    public var contentID: String?
    /// True when the part is shown in the body rather than offered as a download:
    /// `Content-Disposition: inline`, or no disposition but a Content-ID.
    public var isInline: Bool
    /// The payload with its transfer encoding (base64, quoted-printable, …) removed.
    public var data: [UInt8]

    public init(filename: String?, contentType: String, contentID: String?, isInline: Bool, data: [UInt8]) {
        self.filename = filename
        self.contentType = contentType
        self.contentID = contentID
        self.isInline = isInline
        self.data = data
    }
}
