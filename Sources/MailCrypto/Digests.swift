import CCrypto

/// HMAC-SHA256 (RFC 2104) through libcrypto.
public enum HMAC {
    /// The 32-byte HMAC-SHA256 of `data` under `key`.
    public static func sha256(key: SecretKey, _ data: [UInt8]) -> [UInt8] {
        sha256(keyBytes: key.bytes, data)
    }

    /// HMAC-SHA256 under a raw key of any length; internal because callers outside hold keys as `SecretKey`.
    static func sha256(keyBytes: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = keyBytes.withUnsafeBytes { key in
            data.withUnsafeBufferPointer { input in
                // A non-null pointer even for empty input: libcrypto reads `count` bytes, i.e. none.
                CCrypto.HMAC(
                    EVP_sha256(), key.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(key.count),
                    input.baseAddress ?? UnsafePointer(bitPattern: 1), input.count, &out, &length)
            }
        }
        // HMAC() only fails on allocation failure or a missing digest, both unrecoverable here.
        precondition(result != nil, "libcrypto HMAC-SHA256 failed")
        return Array(out.prefix(Int(length)))
    }
}

/// SHA-256 (FIPS 180-4) through libcrypto.
public enum SHA256 {
    /// The 32-byte digest of `data`.
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &out, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1, "libcrypto SHA-256 failed")
        return out
    }

    /// The digest of the UTF-8 bytes of `text`.
    public static func hash(_ text: String) -> [UInt8] { hash(Array(text.utf8)) }
}

/// Cryptographically secure random bytes from libcrypto's DRBG.
public enum SecureRandom {
    /// `count` random bytes. Traps if the system entropy source fails: continuing with weak nonces or keys
    /// would be worse than stopping.
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let ok = RAND_bytes(&out, Int32(count))
        precondition(ok == 1, "libcrypto RAND_bytes failed: no entropy")
        return out
    }
}

/// Comparison whose running time does not depend on where two byte strings differ.
public enum ConstantTime {
    /// True when `a` and `b` are equal. Lengths are not secret: unequal lengths return false at once.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }
}
