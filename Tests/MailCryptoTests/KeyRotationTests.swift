import MailCore
import Testing
@testable import MailCrypto

/// Purpose keys, key ids, the sealed format's versions and opening with previous keys. Known answers were
/// computed independently (Python `hmac`, `hashlib` and `cryptography`'s AESGCM) from the documented formats.
@Suite struct KeyRotationTests {
    /// Bytes 0x00…0x1f.
    static let master = try! SecretKey(base64OrHex: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    static let context = "mail_account/7/42/imap_secret"

    @Test func purposeKeysKnownAnswers() {
        #expect(Self.master.derive(purpose: KeyPurpose.credentials.label, tenant: nil).hexEncoded
            == "96c1e9e8ceaa49cae43ed46b83a63ea00faf53f86ce6c5492aa47f9ff651a43d")
        #expect(Self.master.derive(purpose: KeyPurpose.oauthToken.label, tenant: nil).hexEncoded
            == "238368852d180bc3624203b50f22b640fd4d553cd405bd828099e9474ee29671")
        #expect(Self.master.derive(purpose: KeyPurpose.messageID.label, tenant: 7).hexEncoded
            == "ccfb5c2c67e460b57d16f6f4e29202ea3b1654e1cf205f1e98f554593d50336f")
    }

    @Test func distinctPurposesGiveDistinctKeys() {
        let purposes: [KeyPurpose] = [.credentials, .oauthToken, .messageID]
        let keys = purposes.map { Self.master.derive(purpose: $0.label, tenant: nil) }
        #expect(Set(keys.map(\.hexEncoded)).count == purposes.count)
        #expect(!keys.contains(Self.master))
        #expect(Set(purposes.map(\.label)).count == purposes.count)
    }

    @Test func keyIDKnownAnswerAndDistinctness() {
        #expect(Self.master.keyID.description == "b6646ef3")
        #expect(KeyID(hex: "b6646ef3") == Self.master.keyID)
        #expect(KeyID(hex: "b6646e") == nil)
        #expect(SecretKey.random().keyID != Self.master.keyID)
    }

    /// A value sealed by the code before key ids (format 1, master key used directly) still opens, with the
    /// master as current key or as a previous one.
    @Test func formatOneValuesStillOpen() throws {
        let v1 = try #require(Hex.decode("01000102030405060708090a0b2f77b86fa097f060907716f18147a3ea4222d130d442af"))
        #expect(SecretBox.sealer(of: v1) == .legacy)
        #expect(try SecretBox(key: Self.master).openSecret(v1, context: Self.context) == Secret("hunter2"))
        let rotated = SecretBox(keyring: try SecretKeyring(current: .random(), previous: [Self.master]))
        #expect(try rotated.openSecret(v1, context: Self.context) == Secret("hunter2"))
        let resealed = try #require(try rotated.reseal(v1, context: Self.context))
        #expect(SecretBox.sealer(of: resealed) == .key(rotated.currentKeyID))
        #expect(try SecretBox(key: rotated.keyring.current).openSecret(resealed, context: Self.context) == Secret("hunter2"))
        #expect(throws: CryptoError.self) { try SecretBox(key: Self.master).open(v1, context: "mail_account/7/43/imap_secret") }
    }

    @Test func formatTwoKnownAnswer() throws {
        let box = SecretBox(key: Self.master)
        let sealed = try box.seal(Array("hunter2".utf8), context: Array(Self.context.utf8), nonce: Array(0..<12))
        #expect(Hex.encode(sealed)
            == "02b6646ef3000102030405060708090a0b06a421a0d2d0fe86aeb80a630f175ad0bc4f095dd77db4")
        #expect(try box.openSecret(sealed, context: Self.context) == Secret("hunter2"))
    }

    @Test func credentialsAreNotSealedWithTheMasterKeyItself() throws {
        let sealed = try SecretBox(key: Self.master).seal(Array("x".utf8), context: "c")
        let nonce = Array(sealed[5..<17])
        #expect(throws: CryptoError.self) {
            try AESGCM.open(key: Self.master.bytes, ciphertextAndTag: sealed[17...], aad: Array(sealed[0..<5]) + Array("c".utf8), nonce: nonce)
        }
        let derived = Self.master.derive(purpose: "credentials", tenant: nil)
        #expect(try AESGCM.open(key: derived.bytes, ciphertextAndTag: sealed[17...], aad: Array(sealed[0..<5]) + Array("c".utf8), nonce: nonce) == Array("x".utf8))
    }

    @Test func purposesDoNotOpenEachOther() throws {
        let sealed = try SecretBox(key: Self.master, purpose: .oauthToken).seal(Array("token".utf8), context: "c")
        #expect(throws: CryptoError.self) { try SecretBox(key: Self.master, purpose: .credentials).open(sealed, context: "c") }
    }

    @Test func opensWithWhicheverKeySealedAndSealsWithTheCurrent() throws {
        let old = SecretKey.random(), new = SecretKey.random()
        let sealedByOld = try SecretBox(key: old).seal(Secret("pw"), context: "c")
        let both = SecretBox(keyring: try SecretKeyring(current: new, previous: [old]))
        #expect(try both.openSecret(sealedByOld, context: "c") == Secret("pw"))
        let sealedByBoth = try both.seal(Secret("pw"), context: "c")
        #expect(SecretBox.sealer(of: sealedByBoth) == .key(new.keyID))
        #expect(try SecretBox(key: new).openSecret(sealedByBoth, context: "c") == Secret("pw"))
        #expect(try both.reseal(sealedByBoth, context: "c") == nil)
        // The old key alone cannot open what the new one sealed: it names a key it does not hold.
        let error = try #require(throws: CryptoError.self) { try SecretBox(key: old).open(sealedByBoth, context: "c") }
        #expect(error.code == .unknownKey)
    }

    @Test func unknownKeyErrorNamesTheKeyIDAndNoSecret() throws {
        let stranger = SecretKey.random()
        let sealed = try SecretBox(key: stranger).seal(Secret("very-secret-password"), context: "c")
        let box = SecretBox(keyring: try SecretKeyring(current: .random(), previous: [.random()]))
        let error = try #require(throws: CryptoError.self) { try box.openSecret(sealed, context: "c") }
        #expect(error.code == .unknownKey)
        #expect(error.description.contains(stranger.keyID.description))
        #expect(error.description.contains("MAILROOM_PREVIOUS_SECRET_KEYS"))
        for secret in ["very-secret-password", stranger.hexEncoded, box.keyring.current.hexEncoded, Hex.encode(sealed)] {
            #expect(!error.description.contains(secret))
            #expect(!"\(error)".contains(secret))
        }
        // A key id that matches but a wrong key under it (tampering): generic failure.
        var tampered = try box.seal(Secret("pw"), context: "c")
        tampered[tampered.count - 1] ^= 1
        #expect((try? box.open(tampered, context: "c")) == nil)
    }

    @Test func previousKeysFromEnvironment() throws {
        let a = SecretKey.random(), b = SecretKey.random(), current = SecretKey.random()
        let env = ["MAILROOM_SECRET_KEY": current.hexEncoded,
                   "MAILROOM_PREVIOUS_SECRET_KEYS": " \(a.hexEncoded) ,\(b.hexEncoded)\n"]
        let ring = try SecretKeyring.fromEnvironment(env)
        #expect(ring.current == current)
        #expect(ring.previous == [a, b])
        #expect(ring.key(for: b.keyID) == b)
        #expect(try SecretKeyring.fromEnvironment(["MAILROOM_SECRET_KEY": current.hexEncoded]).previous.isEmpty)
        #expect(try SecretKeyring.fromEnvironment(["MAILROOM_SECRET_KEY": current.hexEncoded,
                                                  "MAILROOM_PREVIOUS_SECRET_KEYS": ""]).previous.isEmpty)
        // The current key listed as previous too (left over after a rotation) is harmless.
        #expect(try SecretKeyring(current: current, previous: [current, a, a]).previous == [a])
    }

    @Test(arguments: ["abc", "KEY,", ",KEY", "KEY,,KEY", "KEY;KEY", "KEY KEY"])
    func malformedPreviousKeysAreAnError(_ pattern: String) throws {
        let key = SecretKey.random().hexEncoded
        let text = pattern.replacingOccurrences(of: "KEY", with: key)
        let error = try #require(throws: CryptoError.self) {
            try SecretKeyring.fromEnvironment(["MAILROOM_SECRET_KEY": SecretKey.random().hexEncoded,
                                               "MAILROOM_PREVIOUS_SECRET_KEYS": text])
        }
        #expect(error.code == .invalidKey)
        #expect(error.description.contains("MAILROOM_PREVIOUS_SECRET_KEYS"))
        #expect(!error.description.contains(key))
    }

    @Test func messageIDsVerifyAgainstCurrentAndPreviousKeys() throws {
        let old = SecretKey.random(), new = SecretKey.random()
        let tenant = TenantID(5)
        let oldID = RecordTokenSigner(master: old, tenant: tenant).messageID(type: .supportCase, id: 9, domain: "acme.test")
        let both = RecordTokenSigner(keyring: try SecretKeyring(current: new, previous: [old]), tenant: tenant)
        #expect(both.verify(oldID)?.id == 9)
        let newID = both.messageID(type: .supportCase, id: 10, domain: "acme.test")
        #expect(RecordTokenSigner(master: new, tenant: tenant).verify(newID)?.id == 10)
        #expect(RecordTokenSigner(master: old, tenant: tenant).verify(newID) == nil)
        #expect(RecordTokenSigner(master: new, tenant: tenant).verify(oldID) == nil)
        #expect(RecordTokenSigner(keyring: try SecretKeyring(current: new, previous: [old]), tenant: TenantID(6)).verify(oldID) == nil)
    }
}
