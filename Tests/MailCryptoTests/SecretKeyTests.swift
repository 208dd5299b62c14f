import Testing
@testable import MailCrypto

@Suite struct SecretKeyTests {
    static let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    @Test func parsesHexAndBase64ToTheSameKey() throws {
        let fromHex = try SecretKey(base64OrHex: Self.hex)
        let fromUpperHex = try SecretKey(base64OrHex: Self.hex.uppercased() + "\n")
        let fromBase64 = try SecretKey(base64OrHex: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        let fromBase64URLUnpadded = try SecretKey(base64OrHex: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        #expect(fromHex.bytes == Array(0..<32))
        #expect(fromUpperHex == fromHex)
        #expect(fromBase64 == fromHex)
        #expect(fromBase64URLUnpadded == fromHex)
        #expect(fromHex.hexEncoded == Self.hex)
        #expect("\(fromHex)" == "<redacted>")
    }

    @Test(arguments: [
        "", "too-short", String(SecretKeyTests.hex.dropLast(2)), SecretKeyTests.hex + "00",
        "zz" + String(SecretKeyTests.hex.dropFirst(2)),
        "c2VjcmV0LXBhc3N3b3JkLXRoYXQtaXMtbm90LTMyLWJ5dGVz",  // base64 of 36 bytes
        "hunter2-hunter2-hunter2-hunter2-",  // 32 characters, but not a 32-byte encoding
    ])
    func rejectsInvalidKeysWithoutEchoingThem(_ text: String) throws {
        let error = try #require(throws: CryptoError.self) { try SecretKey(base64OrHex: text) }
        #expect(error.code == .invalidKey)
        if !text.isEmpty { #expect(!error.description.contains(text)) }
        #expect(!error.description.contains("hunter2"))
    }

    @Test func readsTheEnvironmentVariable() throws {
        let key = try SecretKey.fromEnvironment(["MAILROOM_SECRET_KEY": Self.hex])
        #expect(key.bytes == Array(0..<32))

        let missing = try #require(throws: CryptoError.self) { try SecretKey.fromEnvironment([:]) }
        #expect(missing.code == .missingKey)
        #expect(missing.description.contains("MAILROOM_SECRET_KEY"))

        let blank = try #require(throws: CryptoError.self) {
            try SecretKey.fromEnvironment(["MAILROOM_SECRET_KEY": "  \n"])
        }
        #expect(blank.code == .missingKey)
    }

    @Test func derivationSeparatesPurposesAndTenants() throws {
        let master = try SecretKey(base64OrHex: Self.hex)
        let a = master.derive(purpose: "message-id", tenant: 1)
        #expect(a == master.derive(purpose: "message-id", tenant: 1))
        #expect(a.bytes.count == 32)
        let others = [
            master.derive(purpose: "message-id", tenant: 2),
            master.derive(purpose: "message-id", tenant: nil),
            master.derive(purpose: "secret-box", tenant: 1),
            master.derive(purpose: "", tenant: nil),
            SecretKey.random().derive(purpose: "message-id", tenant: 1),
        ]
        for other in others { #expect(other != a) }
        #expect(a != master)
    }

    /// Pins the documented `info` encoding, so derived keys stay stable across releases.
    @Test func derivationIsStable() throws {
        let master = try SecretKey(base64OrHex: Self.hex)
        var info = Array("mailroom-kdf-v1".utf8) + [0, 0, 0, 10] + Array("message-id".utf8)
        info += [1, 0, 0, 0, 0, 0, 0, 0, 7]
        let expected = HKDF.sha256(ikm: master.bytes, salt: [], info: info, length: 32)
        #expect(master.derive(purpose: "message-id", tenant: 7).bytes == expected)
    }

    /// RFC 5869 Appendix A.1, test case 1.
    @Test func hkdfKnownAnswer() throws {
        let okm = HKDF.sha256(
            ikm: [UInt8](repeating: 0x0b, count: 22),
            salt: try #require(Hex.decode("000102030405060708090a0b0c")),
            info: try #require(Hex.decode("f0f1f2f3f4f5f6f7f8f9")), length: 42)
        #expect(Hex.encode(okm) ==
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }
}
