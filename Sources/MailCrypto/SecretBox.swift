import MailCore

/// Authenticated encryption of small secrets (stored passwords, tokens) with AES-256-GCM, under a key derived
/// for one `KeyPurpose` from the master keys of a `SecretKeyring`.
///
/// Sealed format, version 2 (what `seal` writes):
///
///     0x02 || key id (4 bytes) || nonce (12 random bytes) || ciphertext (same length as plaintext) || tag (16 bytes)
///
/// The key is `master.derive(purpose:, tenant: nil)` for the master key whose `KeyID` is in the header; the AAD
/// is the 5-byte header followed by `context`. Version 1, written before keys were derived and rotated, is
///
///     0x01 || nonce (12 bytes) || ciphertext || tag (16 bytes)
///
/// under a master key itself with `context` as AAD. It is still opened (trying the current key, then the
/// previous ones) so databases sealed before version 2 keep working; `mailroom secrets rotate` rewrites it.
///
/// `context` names the row and column (`mail_account/<tenant>/<account>/imap_secret`), so a ciphertext copied to
/// another row or column fails to open. Random 96-bit nonces are safe for far more than the number of secrets one
/// key will ever seal (NIST SP 800-38D §8.3).
public struct SecretBox: Sendable {
    static let version: UInt8 = 0x02
    static let legacyVersion: UInt8 = 0x01
    static let headerCount = 1 + KeyID.byteCount
    static let nonceCount = AESGCM.nonceCount
    static let tagCount = AESGCM.tagCount
    /// Bytes a sealed value adds to its plaintext.
    public static let overhead = headerCount + nonceCount + tagCount

    /// The master keys this box seals with (the current one) and opens with (any of them).
    public let keyring: SecretKeyring
    public let purpose: KeyPurpose
    /// Derived keys by the master key's id; the current one first.
    private let derived: [(id: KeyID, key: SecretKey)]

    /// A box for `purpose` over `keyring`.
    public init(keyring: SecretKeyring, purpose: KeyPurpose = .credentials) {
        self.keyring = keyring
        self.purpose = purpose
        derived = keyring.all.map { ($0.keyID, $0.derive(purpose: purpose.label, tenant: nil)) }
    }

    /// A box over one master key and no previous keys.
    public init(key master: SecretKey, purpose: KeyPurpose = .credentials) {
        // A keyring of one key cannot have colliding ids.
        self.init(keyring: try! SecretKeyring(current: master), purpose: purpose)
    }

    /// The id of the key this box seals with.
    public var currentKeyID: KeyID { derived[0].id }

    /// Encrypts `plaintext` under the current key and a fresh random nonce, authenticating `context` with it.
    public func seal(_ plaintext: [UInt8], context: String) throws(CryptoError) -> [UInt8] {
        try seal(plaintext, context: Array(context.utf8), nonce: SecureRandom.bytes(Self.nonceCount))
    }

    /// Decrypts a value from `seal` (either format version) with whichever configured key sealed it; fails unless
    /// that key is configured and the context and every byte match.
    public func open(_ sealed: [UInt8], context: String) throws(CryptoError) -> [UInt8] {
        try open(sealed, context: Array(context.utf8))
    }

    /// Seals the UTF-8 bytes of a secret.
    public func seal(_ secret: Secret, context: String) throws(CryptoError) -> [UInt8] {
        try seal(Array(secret.value.utf8), context: context)
    }

    /// Opens a value sealed from a `Secret`; fails with `.invalidText` if the plaintext is not UTF-8.
    public func openSecret(_ sealed: [UInt8], context: String) throws(CryptoError) -> Secret {
        let bytes = try open(sealed, context: context)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CryptoError.invalidText }
        return Secret(text)
    }

    /// `sealed` re-sealed under the current key, or nil when the current key sealed it already (version 2 with
    /// the current key id). Opens first, so the value must be readable by some configured key and `context`.
    public func reseal(_ sealed: [UInt8], context: String) throws(CryptoError) -> [UInt8]? {
        if Self.sealer(of: sealed) == .key(currentKeyID) { return nil }
        return try seal(open(sealed, context: context), context: context)
    }

    /// Who sealed a value, read from its header without opening it.
    public enum Sealer: Sendable, Hashable, CustomStringConvertible {
        /// Format version 1: some master key directly, which one is not recorded.
        case legacy
        /// Format version 2 under the master key with this id.
        case key(KeyID)
        /// Not a sealed value of a known version, or too short to be one.
        case unreadable

        public var description: String {
            switch self {
            case .legacy: "legacy (v1)"
            case .key(let id): id.description
            case .unreadable: "unreadable"
            }
        }
    }

    public static func sealer(of sealed: [UInt8]) -> Sealer {
        guard let first = sealed.first else { return .unreadable }
        switch first {
        case legacyVersion where sealed.count >= 1 + nonceCount + tagCount: return .legacy
        case version where sealed.count >= overhead: return .key(KeyID(bytes: Array(sealed[1..<headerCount])))
        default: return .unreadable
        }
    }

    // MARK: Format

    /// Seals with a caller-chosen nonce: the hook for known-answer tests. Never reuse a nonce.
    func seal(_ plaintext: [UInt8], context: [UInt8], nonce: [UInt8]) throws(CryptoError) -> [UInt8] {
        let (id, key) = derived[0]
        let header = [Self.version] + id.bytes
        return try header + nonce + AESGCM.seal(key: key.bytes, plaintext: plaintext, aad: header + context, nonce: nonce)
    }

    func open(_ sealed: [UInt8], context: [UInt8]) throws(CryptoError) -> [UInt8] {
        switch Self.sealer(of: sealed) {
        case .key(let id):
            guard let key = derived.first(where: { $0.id == id })?.key else { throw CryptoError.unknownKey(id) }
            let nonce = Array(sealed[Self.headerCount..<(Self.headerCount + Self.nonceCount)])
            return try AESGCM.open(key: key.bytes, ciphertextAndTag: sealed[(Self.headerCount + Self.nonceCount)...],
                                   aad: Array(sealed.prefix(Self.headerCount)) + context, nonce: nonce)
        case .legacy:
            let nonce = Array(sealed[1..<(1 + Self.nonceCount)])
            // Version 1 does not say which master key sealed it: the tag tells. Current key first.
            for master in keyring.all {
                if let plaintext = try? AESGCM.open(key: master.bytes, ciphertextAndTag: sealed[(1 + Self.nonceCount)...],
                                                    aad: context, nonce: nonce) {
                    return plaintext
                }
            }
            throw CryptoError.decryptionFailed
        case .unreadable:
            if let first = sealed.first, first != Self.version, first != Self.legacyVersion {
                throw CryptoError.unsupportedVersion
            }
            throw CryptoError.decryptionFailed
        }
    }
}
