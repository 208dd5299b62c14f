import Foundation
import MailCore
import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// One owner across group mailboxes, end to end: copies delivered through the real Postfix (MX →
/// LMTP → Dovecot, each copy with its own `Delivered-To`), imported by the real importer in either
/// poll order or by two runners at once. Every message must give one email row linked to each mailbox
/// that received it and one case, in the owner the rule names, with one auto-reply from the owner.
@Suite struct CaseOwnerImportTests {
    let s: SendingFixture
    let support: TestMailbox, sales: TestMailbox
    let alias: String

    init() async throws {
        s = try await SendingFixture.make()
        support = try s.f.server.createMailbox(prefix: "owner-support")
        sales = try s.f.server.createMailbox(prefix: "owner-sales")
        alias = "owner-help-\(UUID().uuidString.prefix(8).lowercased())@test.local"
    }

    /// A tenant with Support (aliases: `alias`) and Sales, both answering automatically from their own
    /// address; `salesCase` is Sales's case settings (nil: Sales creates no cases).
    func tenant(_ prefix: String, salesCase: String? = "{create: true, distribution: direct, assign_to: bob}",
                supportExtra: String = "") async throws -> (TenantID, support: MailAccountRecord, sales: MailAccountRecord) {
        let reply = "auto_reply: {enabled: true, body: 'We got it.'}"
        let tenant = try await s.tenant(prefix, accounts: [
            s.account("Support", support, index: 0, extra: [
                "case: {create: true, distribution: direct, assign_to: alice\(supportExtra)}", "aliases: [\(alias)]", reply,
            ]),
            s.account("Sales", sales, index: 1, extra: (salesCase.map { ["case: \($0)"] } ?? []) + [reply]),
        ])
        let accounts = try await s.f.query(tenant) { try MailAccountQueries.mailAccountListPollable($0, tenant: tenant) }
        return (tenant, accounts.first { $0.name == "Support" }!, accounts.first { $0.name == "Sales" }!)
    }

    /// Submits `headers` + a body to the test Postfix's MX for both mailboxes (the envelope, whatever
    /// the headers say) and waits until each mailbox holds one more copy.
    func deliver(_ headers: [String]) async throws -> String {
        let messageID = "owner-\(UUID().uuidString)@test.local"
        let text = (headers + ["Message-ID: <\(messageID)>", "From: Peter Gibbons <peter@initech.test>",
                               "Date: Thu, 01 Jan 2026 10:00:00 +0000", "", "The TPS report is late.", ""]).joined(separator: "\r\n")
        let before = (try s.f.server.messageCount(support), try s.f.server.messageCount(sales))
        let mx = SMTPEndpoint(host: s.f.server.host, port: s.f.server.mxPort, security: .none, authentication: .none,
                              heloName: "test.local", policy: OutboundPolicy(allowed: s.f.server.outboundPolicy.allowed))
        let connection = try await SMTPConnection(endpoint: mx)
        defer { connection.close() }
        // One transaction per mailbox, so each copy reaches Dovecot alone and gets its own Delivered-To
        // (Dovecot's LMTP adds none to a delivery for several recipients).
        for mailbox in [support, sales] {
            try await connection.send(from: "peter@initech.test", recipients: [mailbox.address], message: Array(text.utf8))
        }
        let arrived = try await Eventually.until(timeout: .seconds(30), interval: .milliseconds(50)) {
            try s.f.server.messageCount(support) == before.0 + 1 && s.f.server.messageCount(sales) == before.1 + 1
        }
        try #require(arrived, "Postfix delivered both copies")
        return messageID
    }

    struct Outcome: Equatable, CustomStringConvertible {
        /// Names of the accounts linked to the email, sorted.
        var linked: [String]
        /// Source account of each case of the email.
        var cases: [String]
        /// Sending account of each auto-reply to the email.
        var autoReplies: [String]
        var description: String { "linked \(linked), cases in \(cases), auto-replies from \(autoReplies)" }
    }

    func outcome(_ tenant: TenantID, _ messageID: String) async throws -> Outcome {
        try await s.f.query(tenant) { conn in
            let email: Int64 = try conn.query("SELECT id FROM email WHERE message_id = \(messageID)").one().decode(at: 0)
            func names(_ sql: SQL) throws -> [String] { try conn.query(sql).map { try $0.decode(String.self, at: 0) } }
            return Outcome(
                linked: try names("""
                    SELECT a.name FROM email_account_link l JOIN mail_account a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
                    WHERE l.email_id = \(email) ORDER BY a.name
                    """),
                cases: try names("""
                    SELECT a.name FROM support_case c JOIN stream_entry s ON s.tenant_id = c.tenant_id
                        AND s.record_type = 'case' AND s.record_id = c.id AND s.kind = 'case_created' AND s.email_id = \(email)
                    JOIN mail_account a ON a.tenant_id = c.tenant_id AND a.id = c.source_account_id
                    """),
                autoReplies: try names("""
                    SELECT a.name FROM email r JOIN mail_account a ON a.tenant_id = r.tenant_id AND a.id = r.send_account_id
                    WHERE r.is_auto_reply AND r.reply_to_email_id = \(email)
                    """))
        }
    }

    /// Polls `accounts` one after the other, each until idle.
    func poll(_ accounts: MailAccountRecord...) async {
        let runner = s.f.caseRunner()
        for a in accounts { _ = await runner.pollAccountUntilIdle(a) }
    }

    @Test func toSupportCcSalesOwnsInSupportWhicheverIsPolledFirst() async throws {
        let (tenant, supportAccount, salesAccount) = try await tenant("owner-order")
        let expected = Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"])

        let first = try await deliver(["To: \(support.address)", "Cc: \(sales.address)", "Subject: Support first"])
        await poll(supportAccount, salesAccount)
        #expect(try await outcome(tenant, first) == expected)

        let second = try await deliver(["To: \(support.address)", "Cc: \(sales.address)", "Subject: Sales first"])
        await poll(salesAccount, supportAccount)
        #expect(try await outcome(tenant, second) == expected)

        // Each copy carried its own Delivered-To; the email row keeps the first stored copy's headers.
        let deliveredTo: [String] = try await s.f.query(tenant) { conn in
            try conn.query("""
                SELECT h->>1 FROM email e, jsonb_array_elements(e.headers) h
                WHERE e.message_id = \(second) AND lower(h->>0) = 'delivered-to'
                """).map { try $0.decode(String.self, at: 0) }
        }
        #expect(deliveredTo == [sales.address], "the copy Sales stored first")
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM support_case") == 2)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email WHERE is_auto_reply") == 2)
        // The owner's rules: Support assigns to alice (Sales would have chosen bob).
        #expect(try await s.f.cases(tenant).map(\.assignee) == ["alice", "alice"])
    }

    @Test func priorityOverridesAddressOrder() async throws {
        let (tenant, supportAccount, salesAccount) = try await tenant(
            "owner-priority", salesCase: "{create: true, distribution: direct, assign_to: bob, priority: 10}")
        let id = try await deliver(["To: \(support.address)", "Cc: \(sales.address)", "Subject: Priority"])
        await poll(supportAccount, salesAccount)
        #expect(try await outcome(tenant, id) == Outcome(linked: ["Sales", "Support"], cases: ["Sales"], autoReplies: ["Sales"]))
        #expect(try await s.f.cases(tenant).map(\.assignee) == ["bob"])
    }

    /// A list address expanded upstream (the test Postfix has no alias maps): the copies carry the
    /// alias in `X-Original-To`, or in a forwarder's `Delivered-To` above Dovecot's own.
    @Test(arguments: ["X-Original-To", "Delivered-To"])
    func aliasInEnvelopeHeadersNamesTheOwner(_ header: String) async throws {
        let (tenant, supportAccount, salesAccount) = try await tenant("owner-alias")
        let id = try await deliver(["\(header): \(alias)", "To: Everyone <everyone@initech.test>", "Subject: Via the alias"])
        await poll(salesAccount, supportAccount)
        #expect(try await outcome(tenant, id) == Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"]))
    }

    /// Bcc to both mailboxes: neither is addressed, so the mailbox polled first decides, as before.
    @Test func bccFallsBackToThePoller() async throws {
        let (tenant, supportAccount, salesAccount) = try await tenant("owner-bcc")
        let first = try await deliver(["To: Undisclosed recipients:;", "Subject: Bcc, Sales first"])
        await poll(salesAccount, supportAccount)
        #expect(try await outcome(tenant, first) == Outcome(linked: ["Sales", "Support"], cases: ["Sales"], autoReplies: ["Sales"]))
        let second = try await deliver(["To: Undisclosed recipients:;", "Subject: Bcc, Support first"])
        await poll(supportAccount, salesAccount)
        #expect(try await outcome(tenant, second) == Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"]))
    }

    /// Sales creates no cases but answers automatically: stored first by Sales, the email still opens
    /// its case in Support, answered once, from Support.
    @Test func pollerWithoutCasesLeavesTheCaseAndTheAnswerToTheOwner() async throws {
        let (tenant, supportAccount, salesAccount) = try await tenant("owner-nocase", salesCase: nil)
        let id = try await deliver(["To: \(sales.address)", "Cc: \(support.address)", "Subject: Sales has no cases"])
        await poll(salesAccount)
        #expect(try await outcome(tenant, id) == Outcome(linked: ["Sales"], cases: ["Support"], autoReplies: ["Support"]))
        await poll(supportAccount)
        #expect(try await outcome(tenant, id) == Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"]))
    }

    /// Two runners (each with its own connections, as two replicas) poll the two mailboxes at the same
    /// moment, several rounds: each message ends with one case, in Support. With `salesCreatesCases`
    /// off, a round Sales wins stores the email under an account that creates no cases itself.
    @Test(arguments: [true, false])
    func twoRunnersPollingAtOnceMakeOneCase(_ salesCreatesCases: Bool) async throws {
        let (tenant, supportAccount, salesAccount) = try await tenant(
            "owner-race", salesCase: salesCreatesCases ? "{create: true, distribution: direct, assign_to: bob}" : nil)
        let expected = Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"])
        var storedFirstBy: [String: Int] = [:]
        for round in 0..<5 {
            let id = try await deliver(["To: \(support.address)", "Cc: \(sales.address)", "Subject: Race \(round)"])
            let one = s.f.caseRunner(), other = s.f.caseRunner()
            async let a = one.pollAccountUntilIdle(supportAccount)
            async let b = other.pollAccountUntilIdle(salesAccount)
            let (supportReports, salesReports) = await (a, b)
            let imported = (supportReports.map(\.imported).reduce(0, +), salesReports.map(\.imported).reduce(0, +))
            #expect(imported.0 + imported.1 == 1, "exactly one runner stored the email as new")
            storedFirstBy[imported.0 == 1 ? "Support" : "Sales", default: 0] += 1
            #expect(try await outcome(tenant, id) == expected, "round \(round)")
        }
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM support_case") == 5)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email WHERE is_auto_reply") == 5)
        print("two runners at once, salesCreatesCases=\(salesCreatesCases): stored first by \(storedFirstBy)")
    }
}
