import Foundation

/// A 256-bit key: the service's master key (`MAILROOM_SECRET_KEY`) or a key derived from it.
///
/// The key never prints: `description` is `<redacted>`, and parsing errors never echo the text they were given.
public struct SecretKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Name of the environment variable that holds the master key.
    public static let environmentVariable = "MAILROOM_SECRET_KEY"
    /// Key length in bytes (AES-256, HMAC-SHA256 output).
    public static let byteCount = 32

    /// The raw key; internal so that key material only leaves this module as MACs or ciphertext.
    let bytes: [UInt8]

    /// Parses 64 hexadecimal digits, or standard or URL-safe base64 (padding optional) that decodes to exactly
    /// 32 bytes. Surrounding whitespace is ignored (keys often come from files with a trailing newline).
    /// Generate one with `openssl rand -hex 32` or `openssl rand -base64 32`.
    public init(base64OrHex text: String) throws(CryptoError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.utf8.count == 2 * Self.byteCount, let bytes = Hex.decode(trimmed) {
            self.bytes = bytes
            return
        }
        guard let bytes = Self.base64Decode(trimmed), bytes.count == Self.byteCount else {
            throw CryptoError.invalidKey
        }
        self.bytes = bytes
    }

    /// Reads the master key from `MAILROOM_SECRET_KEY`.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CryptoError) -> SecretKey {
        guard let text = environment[environmentVariable],
              !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { throw CryptoError.missingKey }
        return try SecretKey(base64OrHex: text)
    }

    /// A fresh random key, e.g. for tests or for `mailroom generate-key`.
    public static func random() -> SecretKey { SecretKey(unchecked: SecureRandom.bytes(byteCount)) }

    /// Wraps raw bytes without checking the length; for derivation and known-answer tests.
    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// The key as 64 lowercase hex digits, for writing a generated key to configuration. Never log it.
    public var hexEncoded: String { Hex.encode(bytes) }

    public static func == (lhs: SecretKey, rhs: SecretKey) -> Bool { ConstantTime.equals(lhs.bytes, rhs.bytes) }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }

    private static func base64Decode(_ text: String) -> [UInt8]? {
        // Accept the URL-safe alphabet (RFC 4648 §5) and missing padding.
        var normalized = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = normalized.utf8.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { normalized += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: normalized).map { Array($0) }
    }
}
