import Foundation

/// The master keys a process holds: the current one (`MAILROOM_SECRET_KEY`), which seals and signs, and the
/// previous ones (`MAILROOM_PREVIOUS_SECRET_KEYS`), which only open and verify what was sealed or signed before a
/// rotation. See docs/operations.md, "Rotating the secret key".
public struct SecretKeyring: Sendable {
    /// Comma-separated previous master keys, each encoded as `MAILROOM_SECRET_KEY` is.
    public static let previousKeysVariable = "MAILROOM_PREVIOUS_SECRET_KEYS"

    /// The key that seals and signs.
    public let current: SecretKey
    /// Keys that still open and verify, newest first as configured; never equal to `current`.
    public let previous: [SecretKey]

    /// A keyring of `current` and `previous`. A previous key equal to the current one (or repeated) is dropped:
    /// leaving the old value in place for a while after a rotation is harmless. Two different keys with the same
    /// `KeyID` are refused: a sealed value could not say which of them sealed it.
    public init(current: SecretKey, previous: [SecretKey] = []) throws(CryptoError) {
        var kept: [SecretKey] = []
        var ids: [KeyID: SecretKey] = [current.keyID: current]
        for key in previous where key != current && !kept.contains(key) {
            if ids[key.keyID] != nil { throw CryptoError.keyIDCollision }
            ids[key.keyID] = key
            kept.append(key)
        }
        self.current = current
        self.previous = kept
    }

    /// The current key, then the previous ones.
    public var all: [SecretKey] { [current] + previous }

    /// The key whose fingerprint is `id`, current or previous.
    public func key(for id: KeyID) -> SecretKey? { all.first { $0.keyID == id } }

    /// `MAILROOM_SECRET_KEY` and, when set, `MAILROOM_PREVIOUS_SECRET_KEYS`.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CryptoError) -> SecretKeyring {
        try SecretKeyring(current: SecretKey.fromEnvironment(environment),
                          previous: previousKeys(environment[previousKeysVariable] ?? ""))
    }

    /// Parses a comma-separated list of keys; surrounding whitespace is ignored, and an empty or blank text is
    /// no keys. Any item that is not a key, including an empty one (`a,,b`, a trailing comma), is an error that
    /// names the item's position but never its text.
    public static func previousKeys(_ text: String) throws(CryptoError) -> [SecretKey] {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
        var keys: [SecretKey] = []
        for (index, item) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            do {
                keys.append(try SecretKey(base64OrHex: String(item)))
            } catch {
                throw CryptoError(.invalidKey, "\(previousKeysVariable): item \(index + 1) is not a key "
                    + "(each must be 64 hexadecimal digits or base64 encoding exactly 32 bytes, separated by commas)")
            }
        }
        return keys
    }
}
