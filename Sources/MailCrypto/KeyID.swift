/// A short public fingerprint of a master key: the first 4 bytes of HMAC-SHA256(master, "mailroom-key-id").
///
/// Sealed values carry the id of the master key that sealed them, so a process holding the current and previous
/// keys opens each value with the right one, and `mailroom secrets rotate --check` can count what each key still
/// seals. An id reveals nothing usable about the key and may be logged; two keys with the same id cannot be
/// configured together (`SecretKeyring` refuses them).
public struct KeyID: Sendable, Hashable, CustomStringConvertible {
    public static let byteCount = 4
    /// The id's bytes, as stored in a sealed value's header.
    public let bytes: [UInt8]

    init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount)
        self.bytes = bytes
    }

    /// The id held in a sealed value's header; nil unless exactly `byteCount` bytes.
    public init?(header bytes: ArraySlice<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses the 8 hex digits `description` prints.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex), bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// 8 lowercase hex digits, e.g. `3fa91c07`.
    public var description: String { Hex.encode(bytes) }
}

extension SecretKey {
    /// This master key's fingerprint (see `KeyID`).
    public var keyID: KeyID {
        KeyID(bytes: Array(HMAC.sha256(keyBytes: bytes, Array("mailroom-key-id".utf8)).prefix(KeyID.byteCount)))
    }
}
