import MailCrypto
import Testing
@testable import MailProvisioning

/// `api_keys:` (docs/manifest.md): keys come from the environment, well formed, never echoed.
@Suite struct ManifestAPIKeyTests {
    static let key = "mrk_0123456789abcdef_" + String(repeating: "ab", count: 32)

    func errors(_ yaml: String, _ environment: [String: String]) -> [String] {
        guard case .failure(let e) = ManifestParser.check(yaml, environment: environment) else { return [] }
        return e.errors.map(\.description)
    }

    @Test func aKeyFromTheEnvironmentIsRead() throws {
        let m = try ManifestParser.parse("tenant: acme\napi_keys: [{name: crm, key: env:K}]", environment: ["K": Self.key])
        #expect(m.apiKeys == [Manifest.APIKeyEntry(name: "crm", key: try APIKey.parse(Self.key))])
        #expect(m.apiKeys.first?.key.keyID == "0123456789abcdef")
    }

    @Test func malformedInlineAndDuplicateKeysAreRefusedWithoutEchoingThem() {
        let cases: [(String, [String: String], String)] = [
            ("api_keys: [{name: crm, key: env:K}]", ["K": "mrk_0123_short"], "malformed API key"),
            ("api_keys: [{name: crm, key: env:K}]", ["K": Self.key.uppercased()], "malformed API key"),
            ("api_keys: [{name: crm, key: \"\(Self.key)\"}]", [:], "must be env:VARIABLE"),
            ("api_keys: [{name: crm, key: env:K}]", [:], "environment variable K is not set"),
            ("api_keys: [{name: crm}]", [:], "key: required"),
            ("api_keys: [{name: \"no spaces\", key: env:K}]", ["K": Self.key], "invalid API key name"),
            ("api_keys: [{name: crm, key: env:K}, {name: crm, key: env:K}]", ["K": Self.key], "duplicate API key \"crm\""),
        ]
        for (section, environment, expected) in cases {
            let found = errors("tenant: acme\n" + section, environment)
            #expect(found.contains { $0.contains(expected) }, "\(section): \(found)")
            #expect(!found.contains { $0.contains("abab") || $0.contains("ABAB") || $0.contains("short") }, "\(found)")
        }
    }
}
