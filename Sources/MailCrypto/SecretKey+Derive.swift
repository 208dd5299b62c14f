extension SecretKey {
    /// A subkey for one purpose and, optionally, one tenant: HKDF-SHA256 (RFC 5869) with this key as input
    /// keying material, no salt (RFC 5869 §2.2: a string of zeros), and `info` encoding purpose and tenant.
    ///
    /// HKDF is built here from HMAC-SHA256 (`HMAC()` in libcrypto) rather than `EVP_KDF`, to keep the C
    /// surface to one call; the result is the same function. `info` is
    /// `"mailroom-kdf-v1" || u32be(len(purpose)) || purpose || tenantTag` where `tenantTag` is `0x00` for no
    /// tenant or `0x01 || i64be(tenant)`, so no two (purpose, tenant) pairs share an `info`.
    ///
    /// Purposes in use are named by their callers, e.g. `"message-id"` for HMAC-signed Message-IDs per tenant.
    public func derive(purpose: String, tenant: Int64?) -> SecretKey {
        var info = Array("mailroom-kdf-v1".utf8)
        let purposeBytes = Array(purpose.utf8)
        info += bigEndianBytes(UInt32(purposeBytes.count))
        info += purposeBytes
        if let tenant {
            info.append(1)
            info += bigEndianBytes(UInt64(bitPattern: tenant))
        } else {
            info.append(0)
        }
        return SecretKey(unchecked: HKDF.sha256(ikm: bytes, salt: [], info: info, length: Self.byteCount))
    }
}

/// HKDF-SHA256, RFC 5869 §2.2–2.3.
enum HKDF {
    static func sha256(ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        precondition(length <= 255 * 32, "HKDF output too long")
        // §2.2: an absent salt is HashLen zero bytes.
        let prk = HMAC.sha256(keyBytes: salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt, ikm)
        var okm = [UInt8]()
        var previous = [UInt8]()
        var counter: UInt8 = 1
        while okm.count < length {
            previous = HMAC.sha256(keyBytes: prk, previous + info + [counter])
            okm += previous
            counter += 1
        }
        return Array(okm.prefix(length))
    }
}

private func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}
