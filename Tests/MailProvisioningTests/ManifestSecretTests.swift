import Testing
@testable import MailProvisioning

/// Secret values must never reach an error description, however the manifest is broken.
@Suite struct ManifestSecretTests {
    static let inline = "Sup3r-Secret!"
    static let fromEnvironment = "Env-Secret-Value"

    static let brokenManifests: [String] = [
        // Unterminated quote on the password line: libyaml's snippet would show the line.
        minimal(replacing: [8: "    imap:\n      host: 127.0.0.1\n      password: \"Sup3r-Secret!\n      port: 1"]),
        // Password of the wrong shape.
        minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: {value: Sup3r-Secret!}}"]),
        minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: [Sup3r-Secret!]}"]),
        // Looks like an env reference but is not one.
        minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: \"env:Sup3r-Secret!\"}"]),
        // Duplicate password keys: Yams' own message would print the whole document.
        minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: Sup3r-Secret!, password: env:PW}"]),
        // Password where none is used.
        minimal(appending: ["    smtp: {host: 127.0.0.1, auth: none, password: Sup3r-Secret!}"]),
        // Resolved secret next to other mistakes.
        minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: env:PW, port: 0, security: bogus}"]),
        // Inline secret and a misspelt neighbour.
        minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: Sup3r-Secret!, usernme: x}"]),
    ]

    @Test(arguments: brokenManifests)
    func errorDescriptionsNeverContainSecrets(_ yaml: String) {
        let result = ManifestParser.check(yaml, environment: testEnvironment)
        guard case .failure(let errors) = result else {
            Issue.record("manifest unexpectedly parsed")
            return
        }
        #expect(!errors.errors.isEmpty)
        for text in [errors.description] + errors.errors.map(\.message) {
            #expect(!text.contains(Self.inline))
            #expect(!text.contains("Sup3r"))
            #expect(!text.contains(Self.fromEnvironment))
        }
    }

    @Test func syntaxErrorIsLocatedWithoutSnippet() throws {
        let errors = errors(Self.brokenManifests[0])
        #expect(errors.count == 1)
        #expect(errors.first?.path == "")
        #expect(errors.first?.line != nil)
        #expect(errors.first?.message.hasPrefix("invalid YAML: ") == true)
    }

    @Test func environmentResolution() throws {
        let yaml = minimal(appending: ["    smtp: {host: 127.0.0.1, password: env:SMTP_PW}"])
        // Set: resolved.
        let manifest = try ManifestParser.parse(yaml, environment: ["PW": "imap", "SMTP_PW": "smtp"])
        #expect(manifest.groupAccounts[0].imap.password?.value == "imap")
        #expect(manifest.groupAccounts[0].smtp?.password?.value == "smtp")
        // Missing and empty: each named at its key.
        let problems = errors(yaml, environment: ["PW": ""]).map(\.description)
        #expect(problems == [
            "group_accounts[0].imap.password: environment variable PW is empty (line 8)",
            "group_accounts[0].smtp.password: environment variable SMTP_PW is not set (line 9)",
        ])
        // Invalid name, echoing neither the text nor the name.
        let invalid = errors(minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: \"env:1abc\"}"]))
        #expect(invalid.map(\.description) == [
            "group_accounts[0].imap.password: \"env:\" must be followed by an environment variable name (line 8)",
        ])
    }
}
