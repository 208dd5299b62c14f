import MailCore
import Testing
@testable import MailCrypto

@Suite struct SecretBoxTests {
    let box = SecretBox(key: SecretKey.random())

    @Test func roundTripsBytesAndSecrets() throws {
        let plaintext = Array("correct horse battery staple".utf8)
        let sealed = try box.seal(plaintext, context: "group_account:42:imap_password")
        #expect(sealed.count == plaintext.count + SecretBox.overhead)
        #expect(sealed[0] == 0x02)
        #expect(Array(sealed[1...4]) == box.currentKeyID.bytes)
        #expect(try box.open(sealed, context: "group_account:42:imap_password") == plaintext)

        let secret = Secret("pä$$wörd")
        let sealedSecret = try box.seal(secret, context: "c")
        #expect(try box.openSecret(sealedSecret, context: "c") == secret)
    }

    @Test func roundTripsEmptyPlaintextAndEmptyContext() throws {
        let sealed = try box.seal([], context: "")
        #expect(sealed.count == SecretBox.overhead)
        #expect(try box.open(sealed, context: "") == [])
    }

    @Test func flippingAnyBitInAnyRegionFailsToOpen() throws {
        let sealed = try box.seal(Array("secret".utf8), context: "ctx")
        // Every byte: version (0), key id (1...4), nonce (5...16), ciphertext, tag (last 16).
        for index in sealed.indices {
            for bit in 0..<8 {
                var tampered = sealed
                tampered[index] ^= UInt8(1 << bit)
                #expect(throws: CryptoError.self) { try box.open(tampered, context: "ctx") }
            }
        }
        var versioned = sealed
        versioned[0] = 0x03
        let error = try #require(throws: CryptoError.self) { try box.open(versioned, context: "ctx") }
        #expect(error.code == .unsupportedVersion)
    }

    @Test func truncatedOrExtendedInputFailsToOpen() throws {
        let sealed = try box.seal(Array("secret".utf8), context: "ctx")
        for length in 0..<sealed.count {
            #expect(throws: CryptoError.self) { try box.open(Array(sealed.prefix(length)), context: "ctx") }
        }
        #expect(throws: CryptoError.self) { try box.open(sealed + [0], context: "ctx") }
    }

    @Test func wrongContextFails() throws {
        let sealed = try box.seal(Array("secret".utf8), context: "group_account:42:imap_password")
        let error = try #require(throws: CryptoError.self) {
            try box.open(sealed, context: "group_account:43:imap_password")
        }
        #expect(error.code == .decryptionFailed)
        #expect(error.description == "secret could not be decrypted (wrong key or tampered data)")
    }

    @Test func wrongKeyFails() throws {
        let sealed = try box.seal(Array("secret".utf8), context: "ctx")
        let other = SecretBox(key: SecretKey.random())
        // The header names a key the other box does not hold.
        let error = try #require(throws: CryptoError.self) { try other.open(sealed, context: "ctx") }
        #expect(error.code == .unknownKey)
    }

    @Test func noncesAreUniqueAcross1000Seals() throws {
        var nonces = Set<[UInt8]>()
        for _ in 0..<1000 {
            let sealed = try box.seal(Array("same".utf8), context: "same")
            nonces.insert(Array(sealed[5...16]))
        }
        #expect(nonces.count == 1000)
    }

    @Test func openSecretRejectsNonUTF8Plaintext() throws {
        let sealed = try box.seal([0xff, 0xfe], context: "c")
        let error = try #require(throws: CryptoError.self) { try box.openSecret(sealed, context: "c") }
        #expect(error.code == .invalidText)
    }

    /// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV, with AAD),
    /// the vector NIST's GCM validation uses.
    @Test func aes256GCMKnownAnswer() throws {
        let key = SecretKey(unchecked: try #require(Hex.decode(
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")))
        let nonce = try #require(Hex.decode("cafebabefacedbaddecaf888"))
        let plaintext = try #require(Hex.decode(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"))
        let aad = try #require(Hex.decode("feedfacedeadbeeffeedfacedeadbeefabaddad2"))
        let sealed = try AESGCM.seal(key: key.bytes, plaintext: plaintext, aad: aad, nonce: nonce)
        #expect(Hex.encode(sealed) ==
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                + "76fc6ece0f4e1768cddf8853bb2d551b")
        #expect(try AESGCM.open(key: key.bytes, ciphertextAndTag: sealed[...], aad: aad, nonce: nonce) == plaintext)
    }

    /// Same source, test case 14: zero key, zero IV, one zero block, no AAD.
    @Test func aes256GCMKnownAnswerWithoutAAD() throws {
        let sealed = try AESGCM.seal(key: [UInt8](repeating: 0, count: 32), plaintext: [UInt8](repeating: 0, count: 16),
                                     aad: [], nonce: [UInt8](repeating: 0, count: 12))
        #expect(Hex.encode(sealed) ==
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919")
    }
}
