import CCrypto
import MailCore

/// Authenticated encryption of small secrets (stored passwords) with AES-256-GCM.
///
/// Sealed format, version 1:
///
///     0x01 || nonce (12 random bytes) || ciphertext (same length as plaintext) || tag (16 bytes)
///
/// `context` is bound as additional authenticated data, so a ciphertext copied to another row or column (e.g.
/// from `group_account:42:imap_password` to `group_account:43:imap_password`) fails to open. Random 96-bit
/// nonces are safe for far more than the number of secrets one key will ever seal (NIST SP 800-38D §8.3).
public struct SecretBox: Sendable {
    static let version: UInt8 = 0x01
    static let nonceCount = 12
    static let tagCount = 16
    /// Bytes a sealed value adds to its plaintext.
    public static let overhead = 1 + nonceCount + tagCount

    private let key: SecretKey

    /// A box sealing with `key`. Derive a purpose-specific key (`key.derive(purpose: "secret-box", ...)`)
    /// rather than passing the master key.
    public init(key: SecretKey) { self.key = key }

    /// Encrypts `plaintext` under a fresh random nonce, authenticating `context` with it.
    public func seal(_ plaintext: [UInt8], context: String) throws(CryptoError) -> [UInt8] {
        try seal(plaintext, aad: Array(context.utf8), nonce: SecureRandom.bytes(Self.nonceCount))
    }

    /// Decrypts a value from `seal`; fails unless the key, the context and every byte match.
    public func open(_ sealed: [UInt8], context: String) throws(CryptoError) -> [UInt8] {
        try open(sealed, aad: Array(context.utf8))
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

    /// Seals with a caller-chosen nonce and raw AAD: the hook for known-answer tests. Never reuse a nonce.
    func seal(_ plaintext: [UInt8], aad: [UInt8], nonce: [UInt8]) throws(CryptoError) -> [UInt8] {
        precondition(nonce.count == Self.nonceCount)
        let context = CipherContext()
        var body = [UInt8](repeating: 0, count: plaintext.count + Self.tagCount)
        var tag = [UInt8](repeating: 0, count: Self.tagCount)
        var produced: Int32 = 0
        var ok = EVP_EncryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, key.bytes, nonce) == 1
        // AAD goes in with a null output buffer (OpenSSL EVP_EncryptUpdate(3), "AEAD Interface").
        if ok, !aad.isEmpty { ok = EVP_EncryptUpdate(context.pointer, nil, &produced, aad, Int32(aad.count)) == 1 }
        if ok, !plaintext.isEmpty {
            ok = EVP_EncryptUpdate(context.pointer, &body, &produced, plaintext, Int32(plaintext.count)) == 1
        }
        var final: Int32 = 0
        if ok {
            ok = body.withUnsafeMutableBufferPointer { buffer in
                EVP_EncryptFinal_ex(context.pointer, buffer.baseAddress! + Int(produced), &final) == 1
            }
        }
        if ok { ok = EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagCount), &tag) == 1 }
        guard ok else { throw CryptoError.encryptionFailed }
        return [Self.version] + nonce + body.prefix(plaintext.count) + tag
    }

    func open(_ sealed: [UInt8], aad: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= Self.overhead else { throw CryptoError.decryptionFailed }
        guard sealed[0] == Self.version else { throw CryptoError.unsupportedVersion }
        let nonce = Array(sealed[1..<(1 + Self.nonceCount)])
        let body = Array(sealed[(1 + Self.nonceCount)..<(sealed.count - Self.tagCount)])
        var tag = Array(sealed.suffix(Self.tagCount))
        let context = CipherContext()
        var plaintext = [UInt8](repeating: 0, count: body.count + Self.tagCount)
        var produced: Int32 = 0
        var ok = EVP_DecryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, key.bytes, nonce) == 1
        if ok, !aad.isEmpty { ok = EVP_DecryptUpdate(context.pointer, nil, &produced, aad, Int32(aad.count)) == 1 }
        if ok, !body.isEmpty {
            ok = EVP_DecryptUpdate(context.pointer, &plaintext, &produced, body, Int32(body.count)) == 1
        }
        if ok { ok = EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagCount), &tag) == 1 }
        var final: Int32 = 0
        // The tag is checked here; a mismatch (wrong key, context or any flipped bit) returns 0.
        if ok {
            ok = plaintext.withUnsafeMutableBufferPointer { buffer in
                EVP_DecryptFinal_ex(context.pointer, buffer.baseAddress! + Int(produced), &final) == 1
            }
        }
        guard ok else { throw CryptoError.decryptionFailed }
        return Array(plaintext.prefix(body.count))
    }
}

/// Sole owner of one `EVP_CIPHER_CTX`, freed in `deinit`; lives for one seal or open.
private final class CipherContext {
    let pointer: OpaquePointer

    init() {
        guard let pointer = EVP_CIPHER_CTX_new() else { fatalError("libcrypto could not allocate a cipher context") }
        self.pointer = pointer
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }
}
