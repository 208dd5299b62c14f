import Foundation
import MailCore
import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// The set-up of the case owner tests: two group mailboxes, Support and Sales, that both receive
/// copies of a message through the real Postfix (MX → LMTP → Dovecot, each copy with its own
/// `Delivered-To`), and what became of a message: its account links, cases and auto-replies.
struct CaseOwnerScenario: Sendable {
    let s: SendingFixture
    let support: TestMailbox, sales: TestMailbox
    let alias: String

    /// On `fixture`'s database (the shared test database when nil).
    init(on fixture: WorkerFixture? = nil) async throws {
        s = try await SendingFixture.make(on: fixture)
        support = try s.f.server.createMailbox(prefix: "owner-support")
        sales = try s.f.server.createMailbox(prefix: "owner-sales")
        alias = "owner-help-\(UUID().uuidString.prefix(8).lowercased())@test.local"
    }

    /// A tenant with Support (aliases: `alias`) and Sales, both answering automatically from their own
    /// address; `salesCase` is Sales's case settings (nil: Sales creates no cases).
    func tenant(_ prefix: String, salesCase: String? = "{create: true, distribution: direct, assign_to: bob}") async throws -> (TenantID, support: MailAccountRecord, sales: MailAccountRecord) {
        let reply = "auto_reply: {enabled: true, body: 'We got it.', limit: {count: 100, window: 2h}}"
        let tenant = try await s.tenant(prefix, accounts: [
            s.account("Support", support, index: 0, extra: [
                "case: {create: true, distribution: direct, assign_to: alice}", "aliases: [\(alias)]", reply,
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
}
