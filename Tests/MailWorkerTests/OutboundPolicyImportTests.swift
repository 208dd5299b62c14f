import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// The worker under the operator's outbound policy and memory bounds, against the real Dovecot.
@Suite struct OutboundPolicyImportTests {
    func runner(_ f: WorkerFixture, _ configure: (inout ImportSettings) -> Void) -> ImportRunner {
        var settings = ImportSettings()
        settings.outboundPolicy = f.server.outboundPolicy
        settings.maxAttempts = 3
        settings.retryBaseDelay = .milliseconds(1)
        configure(&settings)
        var logger = Logger(label: "test.policy")
        logger.logLevel = .critical
        return ImportRunner(pool: f.pool, secrets: SecretBox(key: f.key), settings: settings, logger: logger)
    }

    @Test func refusedHostIsRecordedOnTheAccountLikeAConnectionError() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "refused")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "refused@x.test", subject: "x")])
        let (tenant, _) = try await f.tenant("refused", accounts: [.init(name: "Support", mailbox: box)])
        // The strictest policy: the loopback test server is not listed.
        let strict = runner(f) { $0.outboundPolicy = OutboundPolicy() }
        let reports = try await f.importAll(tenant, runner: strict)
        #expect(!reports.isEmpty && reports.allSatisfy { $0.error != nil })
        let row = try await f.query(tenant) { conn in
            try conn.query("SELECT a.last_error, f.last_error FROM mail_account a JOIN mail_folder f ON f.account_id = a.id").one()
        }
        let accountError = try row.decode(String.self, at: 0)
        #expect(accountError == "IMAP transport error hostRefused: host \"\(f.server.host)\" refused: "
                + "address class loopback, not in MAILROOM_ALLOWED_HOSTS")
        #expect(try row.decode(String.self, at: 1) == accountError)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 0)
        // With the operator's list the same account imports.
        _ = try await f.importAll(tenant, runner: runner(f) { _ in })
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 1)
        #expect(try await f.count(tenant, "SELECT count(*) FROM mail_account WHERE last_error IS NULL") == 1)
    }

    /// A send to a refused host fails at once (permanent: no hot retry) and marks the account.
    @Test func refusedSMTPHostFailsTheEmailAndMarksTheAccount() async throws {
        let base = try await SendingFixture.make()
        var logger = Logger(label: "test.policy.send")
        logger.logLevel = .critical
        let strict = runner(base.f) { $0.outboundPolicy = OutboundPolicy() }
        let s = SendingFixture(f: base.f, handler: SendJobHandler(pool: base.f.pool, secrets: SecretBox(key: base.f.key), importer: strict,
                                                                  connections: SMTPConnectionCache(), logger: logger))
        let support = try s.f.server.createMailbox(prefix: "send-refused")
        let tenant = try await s.tenant("send-refused", accounts: [s.account("Support", support)])
        let account = try await s.accountID(tenant, "Support"), alice = try await s.user(tenant, "alice")
        let id = try await s.queue(tenant, EmailDraft(account: account, user: alice, to: ["c@test.local"], subject: "x", text: "y"))
        #expect(try await s.runSends(tenant, attempt: 1, maxAttempts: 3).isEmpty)
        let (status, error) = try await s.status(tenant, id)
        #expect(status == "Failed")
        let expected = "SMTP transport error hostRefused: host \"\(s.f.server.host)\" refused: address class loopback, not in MAILROOM_ALLOWED_HOSTS"
        #expect(error == expected)
        let lastError: String? = try await s.f.query(tenant) {
            try $0.query("SELECT smtp_last_error FROM mail_account WHERE id = \(account)").one().decode(at: 0)
        }
        #expect(lastError == expected)
    }

    @Test func operatorCeilingBelowTheMessageStoresItHeaderOnly() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "ceiling")
        let big = TestMessages.plain(id: "ceiling-big@x.test", subject: "Huge", body: String(repeating: "0123456789abcdef\n", count: 8000))
        let small = TestMessages.plain(id: "ceiling-small@x.test", subject: "Small")
        try f.server.deliverToMaildir(box, messages: [big, small])
        // The account allows 10 MB; the operator's ceiling of 64 KiB wins.
        let (tenant, _) = try await f.tenant("ceiling", accounts: [.init(name: "Support", mailbox: box, extra: ["max_message_size: 10MB"])])
        _ = try await f.importAll(tenant, runner: runner(f) { $0.setLimits(TransferLimits(maxMessageSize: 64 << 10)) })
        let row = try await f.query(tenant) { conn in
            try conn.query("SELECT is_header_only, import_note, size, body_text FROM email WHERE message_id = 'ceiling-big@x.test'").one()
        }
        #expect(try row.decode(Bool.self, at: 0))
        #expect(try row.decode(String.self, at: 1).contains(
            "exceeds the operator's limit (MAILROOM_MAX_MESSAGE_SIZE) of 65536 bytes: imported header only"))
        #expect(try row.decode(Int.self, at: 2) >= big.count)
        #expect((try row.decode(String?.self, at: 3) ?? "").isEmpty)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE message_id = 'ceiling-small@x.test' AND NOT is_header_only") == 1)
    }

    /// A budget smaller than one message and than a batch: batches shrink to what fits, the large
    /// message runs alone, nothing deadlocks, and every byte is given back.
    @Test func smallFetchBudgetImportsEverythingAndGivesTheBytesBack() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "budget")
        var messages = (1...12).map { TestMessages.plain(id: "budget-\($0)@x.test", subject: "B\($0)", body: String(repeating: "x", count: 3000)) }
        messages.append(TestMessages.plain(id: "budget-big@x.test", subject: "Big", body: String(repeating: "0123456789\n", count: 3000)))
        try f.server.deliverToMaildir(box, messages: messages)
        let (tenant, _) = try await f.tenant("budget", accounts: [.init(name: "Support", mailbox: box)])
        let r = runner(f) { $0.setLimits(TransferLimits(fetchBudget: 16_000)) }
        _ = try await f.importAll(tenant, runner: r)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE NOT is_header_only") == 13)
        #expect(r.settings.fetchBudget.available == 16_000)
    }
}
