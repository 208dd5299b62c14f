import CCrypto

/// AES-256-GCM (NIST SP 800-38D) through libcrypto's EVP interface: the primitive under `SecretBox`.
/// Knows nothing of formats; `SecretBox` decides what is sealed under which key and what is authenticated.
enum AESGCM {
    static let nonceCount = 12
    static let tagCount = 16

    /// `ciphertext || tag` of `plaintext` under `key` and `nonce`, authenticating `aad`. Never reuse a nonce.
    static func seal(key: [UInt8], plaintext: [UInt8], aad: [UInt8], nonce: [UInt8]) throws(CryptoError) -> [UInt8] {
        precondition(nonce.count == nonceCount && key.count == SecretKey.byteCount)
        let context = CipherContext()
        var body = [UInt8](repeating: 0, count: plaintext.count + tagCount)
        var tag = [UInt8](repeating: 0, count: tagCount)
        var produced: Int32 = 0
        var ok = EVP_EncryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, key, nonce) == 1
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
        if ok { ok = EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_GET_TAG, Int32(tagCount), &tag) == 1 }
        guard ok else { throw CryptoError.encryptionFailed }
        return Array(body.prefix(plaintext.count)) + tag
    }

    /// The plaintext of `ciphertextAndTag`; fails unless key, nonce, AAD and every byte match.
    static func open(key: [UInt8], ciphertextAndTag sealed: ArraySlice<UInt8>, aad: [UInt8],
                     nonce: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= tagCount, key.count == SecretKey.byteCount, nonce.count == nonceCount else {
            throw CryptoError.decryptionFailed
        }
        let body = Array(sealed.dropLast(tagCount))
        var tag = Array(sealed.suffix(tagCount))
        let context = CipherContext()
        var plaintext = [UInt8](repeating: 0, count: body.count + tagCount)
        var produced: Int32 = 0
        var ok = EVP_DecryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, key, nonce) == 1
        if ok, !aad.isEmpty { ok = EVP_DecryptUpdate(context.pointer, nil, &produced, aad, Int32(aad.count)) == 1 }
        if ok, !body.isEmpty {
            ok = EVP_DecryptUpdate(context.pointer, &plaintext, &produced, body, Int32(body.count)) == 1
        }
        if ok { ok = EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_AEAD_SET_TAG, Int32(tagCount), &tag) == 1 }
        var final: Int32 = 0
        // The tag is checked here; a mismatch (wrong key, AAD or any flipped bit) returns 0.
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
