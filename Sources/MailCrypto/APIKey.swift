import MailCore

/// A key of the HTTP pull API (docs/api.md): `mrk_<key id>_<secret>`, where the key id is 16 lowercase
/// hex digits (8 random bytes, not secret: it finds the key) and the secret 64 lowercase hex digits
/// (32 random bytes). Only `secretHash` is stored.
///
/// A plain SHA-256 is the right hash here, unlike for a password: the secret is 256 random bits, so
/// there is nothing to guess and a slow hash would only slow every request down.
public struct APIKey: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "mrk_"
    static let keyIDBytes = 8
    static let secretBytes = 32

    /// The public half: safe to log and to show in listings.
    public let keyID: String
    /// The whole key as the client presents it.
    public let text: Secret

    /// A fresh random key.
    public static func generate() -> APIKey {
        let id = Hex.encode(SecureRandom.bytes(keyIDBytes))
        let secret = Hex.encode(SecureRandom.bytes(secretBytes))
        return APIKey(keyID: id, text: Secret(prefix + id + "_" + secret))
    }

    /// Parses a key as `generate` makes it (an operator makes one with `openssl rand -hex`); the error
    /// never repeats the text.
    public static func parse(_ text: String) throws(CryptoError) -> APIKey {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard text.hasPrefix(prefix), parts.count == 3,
              isLowerHex(parts[1], bytes: keyIDBytes), isLowerHex(parts[2], bytes: secretBytes)
        else {
            throw CryptoError(.invalidAPIKey, "an API key must read mrk_<16 hex digits>_<64 hex digits> (lowercase)")
        }
        return APIKey(keyID: String(parts[1]), text: Secret(text))
    }

    /// SHA-256 of the secret part: what is stored and compared.
    public var secretHash: [UInt8] {
        SHA256.hash(String(text.value.dropFirst(Self.prefix.count + keyID.count + 1)))
    }

    /// A key's name as `api_key.name` accepts it: letters, digits, `.`, `_` and `-`, starting with a
    /// letter or digit, at most 63 characters.
    public static func isValidName(_ name: String) -> Bool {
        name.count <= 63 && name.first.map { $0.isASCII && ($0.isLetter || $0.isNumber) } == true
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The key id only: a key that reaches a log line or an error shows nothing secret.
    public var description: String { "\(Self.prefix)\(keyID)_<redacted>" }

    private static func isLowerHex(_ s: Substring, bytes: Int) -> Bool {
        s.utf8.count == bytes * 2 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
