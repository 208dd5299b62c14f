import Foundation
import Logging
import MailCore
import MailCrypto
@testable import MailStore
import MailTesting
@testable import MailWorker
import Testing

/// Log lines about a tenant's work carry its ids as metadata (never only in the message), and no secret.
@Suite struct LogMetadataTests {
    @Test func aFailedPollLogsTheTenantAndAccountAsMetadata() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "logmeta-imap")
        let closed = try LoopbackHTTP.freePort()
        let (tenant, slug) = try await f.tenant("logmeta-imap", accounts: [.init(name: "Support", mailbox: box, port: closed)])
        let account = try #require(try await f.query(tenant) { try MailAccountQueries.mailAccountListPollable($0, tenant: tenant) }.first)
        let capture = LogCapture()
        var settings = ImportSettings()
        settings.outboundPolicy = f.server.outboundPolicy
        let runner = ImportRunner(pool: f.pool, secrets: SecretBox(key: f.key), settings: settings, logger: capture.logger)

        let reports = await runner.pollAccount(account)
        #expect(reports.allSatisfy { $0.error != nil })
        let line = try #require(capture.all.first { $0.message == "poll failed" }, "\(capture.all.map(\.message))")
        #expect(line.level == .error)
        #expect(line["tenant"] == slug)
        #expect(line["tenant_id"] == "\(tenant)")
        #expect(line["account"] == "Support")
        #expect(line["account_id"] == "\(account.id)")
        #expect(line["folder"] == "INBOX")
        #expect(line["folder_id"]?.isEmpty == false)
        #expect(line["error"]?.contains("connectFailed") == true)
        #expect(!line.message.contains("\(account.id)"))
        Self.expectNoSecret(box.password, in: capture)
    }

    @Test func aFailedSendLogsTheTenantAccountAndEmailAsMetadata() async throws {
        let capture = LogCapture()
        let s = try await SendingFixture.make(logger: capture.logger)
        let box = try s.f.server.createMailbox(prefix: "logmeta-smtp")
        let closed = try LoopbackHTTP.freePort()
        let tenant = try await s.tenant("logmeta-smtp", accounts: [s.account("Support", box, smtpPort: closed)])
        let slug = try await s.f.query(tenant) { try TenantQueries.tenantSlug($0, id: tenant) }
        let account = try await s.accountID(tenant, "Support")
        let id = try await s.queue(tenant, EmailDraft(account: account, user: try await s.user(tenant, "alice"),
                                                      to: ["customer@test.local"], subject: "logged", text: "x"))

        // The last attempt: the connection failure is final, and the account's people are alerted.
        try await s.runSends(tenant, attempt: 8, maxAttempts: 8)
        #expect(try await s.status(tenant, id).status == "Failed")
        let failed = try #require(capture.all.first { $0.message == "send failed" })
        #expect(failed.level == .error)
        #expect(failed["tenant"] == slug)
        #expect(failed["tenant_id"] == "\(tenant)")
        #expect(failed["account_id"] == "\(account)")
        #expect(failed["email_id"] == "\(id)")
        #expect(failed["error"]?.isEmpty == false)
        let alert = try #require(capture.all.first { $0.message.hasPrefix("SMTP failure on mail account") })
        #expect(alert["tenant"] == slug && alert["account_id"] == "\(account)" && alert["email_id"] == "\(id)")
        #expect(!capture.all.contains { $0.message.contains("\(id)") })
        Self.expectNoSecret(box.password, in: capture)
    }

    static func expectNoSecret(_ secret: String, in capture: LogCapture) {
        #expect(!secret.isEmpty)
        for record in capture.all {
            #expect(!record.message.contains(secret))
            #expect(!record.metadata.values.contains { "\($0)".contains(secret) })
        }
    }
}
