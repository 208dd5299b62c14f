import MailCrypto
import Testing

/// API keys of the events API (docs/api.md): their shape, their hash, and that they never print.
@Suite struct APIKeyTests {
    @Test func generatedKeysParseHashTheirSecretAndPrintOnlyTheirID() throws {
        let key = APIKey.generate()
        let parts = key.text.value.split(separator: "_")
        #expect(parts.count == 3 && parts[0] == "mrk" && parts[1].count == 16 && parts[2].count == 64)
        #expect(try APIKey.parse(key.text.value) == key)
        #expect(key.secretHash == SHA256.hash(String(parts[2])))
        #expect(APIKey.generate().keyID != key.keyID)
        for text in ["\(key)", String(describing: key), "\(key.text)"] {
            #expect(!text.contains(String(parts[2])))
        }
        #expect("\(key)".contains(key.keyID))
    }

    @Test(arguments: ["", "mrk_", "mrk_0123456789abcdef", "mrk_0123456789abcdef_" + String(repeating: "a", count: 63),
                      "mrk_0123456789ABCDEF_" + String(repeating: "a", count: 64),
                      "xyz_0123456789abcdef_" + String(repeating: "a", count: 64),
                      "mrk_0123456789abcdef_" + String(repeating: "a", count: 64) + "_x",
                      "mrk_0123456789abcdeg_" + String(repeating: "a", count: 64)])
    func malformedKeysAreRefusedWithoutEchoingThem(_ text: String) {
        do {
            _ = try APIKey.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == .invalidAPIKey)
            // The message describes the format; it repeats nothing of what was given.
            #expect(!error.description.contains("aaaa") && !error.description.contains("0123"))
        }
    }

    @Test func names() {
        for name in ["crm", "CRM-2026.prod_1", String(repeating: "a", count: 63)] { #expect(APIKey.isValidName(name), "\(name)") }
        for name in ["", "-crm", ".x", "has space", "ünï", String(repeating: "a", count: 64)] { #expect(!APIKey.isValidName(name), "\(name)") }
    }
}
