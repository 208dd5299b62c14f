/// The one error type of MailCrypto.
///
/// Descriptions are deliberately generic: they never contain key material, plaintext, ciphertext or the text a
/// key was parsed from, so an error can be logged as is.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarsely; extensible without breaking callers that switch with a default.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        /// The key text was neither 64 hex digits nor base64 of exactly 32 bytes.
        public static let invalidKey = Code(name: "invalidKey")
        /// `MAILROOM_SECRET_KEY` is not set or empty.
        public static let missingKey = Code(name: "missingKey")
        /// Authentication failed: wrong key, wrong context, or tampered or truncated data.
        public static let decryptionFailed = Code(name: "decryptionFailed")
        /// The sealed bytes start with a format version this code does not know.
        public static let unsupportedVersion = Code(name: "unsupportedVersion")
        /// Decrypted bytes were expected to be UTF-8 text and are not.
        public static let invalidText = Code(name: "invalidText")
        /// libcrypto reported an internal failure while encrypting.
        public static let encryptionFailed = Code(name: "encryptionFailed")
        /// The value was sealed by a master key that is neither the current nor a previous one.
        public static let unknownKey = Code(name: "unknownKey")
        /// Two different configured keys share a `KeyID`.
        public static let keyIDCollision = Code(name: "keyIDCollision")
        /// An API key's text is not `mrk_<16 hex digits>_<64 hex digits>`.
        public static let invalidAPIKey = Code(name: "invalidAPIKey")
        public var description: String { name }
    }

    public var code: Code
    /// A log-safe explanation; never includes secret material.
    public var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static let invalidKey = CryptoError(
        .invalidKey, "secret key must be 64 hexadecimal digits or base64 encoding exactly 32 bytes")
    static let missingKey = CryptoError(
        .missingKey, "secret key is not configured (set \(SecretKey.environmentVariable))")
    static let decryptionFailed = CryptoError(
        .decryptionFailed, "secret could not be decrypted (wrong key or tampered data)")
    static let unsupportedVersion = CryptoError(
        .unsupportedVersion, "secret could not be decrypted (unknown format version)")
    static let invalidText = CryptoError(.invalidText, "decrypted secret is not valid UTF-8 text")
    static let encryptionFailed = CryptoError(.encryptionFailed, "secret could not be encrypted")
    static let keyIDCollision = CryptoError(
        .keyIDCollision, "two different configured secret keys have the same key id: replace one of them")
    /// `id` is a public fingerprint (`KeyID`), safe to print: it tells the operator which key is missing.
    static func unknownKey(_ id: KeyID) -> CryptoError {
        CryptoError(.unknownKey, "secret was sealed by key \(id), which is neither the current key "
            + "(\(SecretKey.environmentVariable)) nor one of \(SecretKeyring.previousKeysVariable)")
    }
}
