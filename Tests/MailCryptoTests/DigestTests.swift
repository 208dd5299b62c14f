import Testing
@testable import MailCrypto

@Suite struct DigestTests {
    /// RFC 4231 §4.3, test case 2.
    @Test func hmacSHA256KnownAnswer() {
        let mac = HMAC.sha256(keyBytes: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// RFC 4231 §4.2, test case 1, through the public `SecretKey` API (a 20-byte key).
    @Test func hmacSHA256WithSecretKey() throws {
        let key = SecretKey(unchecked: [UInt8](repeating: 0x0b, count: 20))
        let mac = HMAC.sha256(key: key, Array("Hi There".utf8))
        #expect(Hex.encode(mac) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(HMAC.sha256(key: SecretKey.random(), []).count == 32)
    }

    /// FIPS 180-4 examples ("abc") and the empty string.
    @Test func sha256KnownAnswers() {
        #expect(Hex.encode(SHA256.hash("abc")) ==
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash([])) ==
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func constantTimeEquals() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([], []))
    }

    @Test func randomBytes() {
        #expect(SecureRandom.bytes(0).isEmpty)
        let a = SecureRandom.bytes(32), b = SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
    }

    @Test func hexRoundTripAndRejects() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.decode("00ABff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
