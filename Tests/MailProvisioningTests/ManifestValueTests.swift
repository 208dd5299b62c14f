import Testing
@testable import MailProvisioning

@Suite struct ManifestValueTests {
    @Test(arguments: [
        ("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1h30m", 5400), ("90", 90), ("0s", 0),
    ])
    func durations(_ text: String, _ seconds: Int) {
        #expect(MappingReader.parseDuration(text) == .seconds(seconds))
    }

    @Test(arguments: ["", "s", "5x", "-5s", "1.5h", "5 m", "m5", "5mm"])
    func invalidDurations(_ text: String) {
        #expect(MappingReader.parseDuration(text) == nil)
    }

    @Test(arguments: [
        ("512KB", 512 * 1024), ("10MB", 10 * 1024 * 1024), ("1GB", 1 << 30), ("123", 123), ("2 mb", 2 << 20),
        ("4KiB", 4096), ("7B", 7),
    ])
    func sizes(_ text: String, _ bytes: Int) {
        #expect(MappingReader.parseByteSize(text) == bytes)
    }

    @Test(arguments: ["", "MB", "10TB", "1.5MB", "-1MB", "10 MBs"])
    func invalidSizes(_ text: String) {
        #expect(MappingReader.parseByteSize(text) == nil)
    }

    @Test(arguments: [
        "a@b", "alice@acme.test", "first.last+tag@sub.example.co.uk", "O'Brien@Example.COM", "x_y-z@a-b.test",
    ])
    func validEmails(_ text: String) throws {
        let address = try #require(Manifest.EmailAddress(text))
        #expect(address.address == text.lowercased())
        #expect(address.original == text)
    }

    @Test(arguments: [
        "", "alice", "@acme.test", "alice@", "al ice@acme.test", "alice@acme..test", ".alice@acme.test",
        "alice.@acme.test", "alice@-acme.test", "alice@acme.test-", "a@b@c", "alice@acme_test",
        "\"quoted\"@acme.test", "alice@[127.0.0.1]", String(repeating: "a", count: 65) + "@acme.test",
    ])
    func invalidEmails(_ text: String) {
        #expect(Manifest.EmailAddress(text) == nil)
    }

    @Test func dates() throws {
        let leap = try #require(Manifest.CalendarDate(iso: "2024-02-29"))
        #expect(leap.description == "2024-02-29")
        #expect(leap.imapDate == "29-Feb-2024")
        #expect(Manifest.CalendarDate(iso: "2026-12-05")?.imapDate == "5-Dec-2026")
        #expect(leap < Manifest.CalendarDate(iso: "2024-03-01")!)
        for invalid in ["2026-02-29", "2026-1-1", "2026-13-01", "2026-04-31", "20260101", "2026-01-01T00:00"] {
            #expect(Manifest.CalendarDate(iso: invalid) == nil)
        }
    }

    @Test func nullValuesCountAsAbsent() throws {
        let yaml = minimal(appending: ["    display_name: ~", "    smtp:", "    poll_interval: null"])
        let account = try #require(try ManifestParser.parse(yaml, environment: testEnvironment).groupAccounts.first)
        #expect(account.displayName == "Support")
        #expect(account.smtp == nil)
        #expect(account.pollInterval == .seconds(60))
    }
}
