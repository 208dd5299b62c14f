import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// One owner across group mailboxes, end to end, in process: either poll order, two runners at once.
/// Every message must give one email row linked to each mailbox that received it and one case, in the
/// owner the rule names, with one auto-reply, from the owner.
@Suite struct CaseOwnerImportTests {
    typealias Outcome = CaseOwnerScenario.Outcome
    let sc: CaseOwnerScenario
    var s: SendingFixture { sc.s }
    var support: TestMailbox { sc.support }
    var sales: TestMailbox { sc.sales }

    init() async throws {
        sc = try await CaseOwnerScenario()
    }

    @Test func toSupportCcSalesOwnsInSupportWhicheverIsPolledFirst() async throws {
        let (tenant, supportAccount, salesAccount) = try await sc.tenant("owner-order")
        let expected = Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"])

        let first = try await sc.deliver(["To: \(support.address)", "Cc: \(sales.address)", "Subject: Support first"])
        await sc.poll(supportAccount, salesAccount)
        #expect(try await sc.outcome(tenant, first) == expected)

        let second = try await sc.deliver(["To: \(support.address)", "Cc: \(sales.address)", "Subject: Sales first"])
        await sc.poll(salesAccount, supportAccount)
        #expect(try await sc.outcome(tenant, second) == expected)

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
        let (tenant, supportAccount, salesAccount) = try await sc.tenant(
            "owner-priority", salesCase: "{create: true, distribution: direct, assign_to: bob, priority: 10}")
        let id = try await sc.deliver(["To: \(support.address)", "Cc: \(sales.address)", "Subject: Priority"])
        await sc.poll(supportAccount, salesAccount)
        #expect(try await sc.outcome(tenant, id) == Outcome(linked: ["Sales", "Support"], cases: ["Sales"], autoReplies: ["Sales"]))
        #expect(try await s.f.cases(tenant).map(\.assignee) == ["bob"])
    }

    /// A list address expanded upstream (the test Postfix has no alias maps): the copies carry the
    /// alias in `X-Original-To`, or in a forwarder's `Delivered-To` above Dovecot's own.
    @Test(arguments: ["X-Original-To", "Delivered-To"])
    func aliasInEnvelopeHeadersNamesTheOwner(_ header: String) async throws {
        let (tenant, supportAccount, salesAccount) = try await sc.tenant("owner-alias")
        let id = try await sc.deliver(["\(header): \(sc.alias)", "To: Everyone <everyone@initech.test>", "Subject: Via the alias"])
        await sc.poll(salesAccount, supportAccount)
        #expect(try await sc.outcome(tenant, id) == Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"]))
    }

    /// Bcc to both mailboxes: neither is addressed, so the mailbox polled first decides, as before.
    @Test func bccFallsBackToThePoller() async throws {
        let (tenant, supportAccount, salesAccount) = try await sc.tenant("owner-bcc")
        let first = try await sc.deliver(["To: Undisclosed recipients:;", "Subject: Bcc, Sales first"])
        await sc.poll(salesAccount, supportAccount)
        #expect(try await sc.outcome(tenant, first) == Outcome(linked: ["Sales", "Support"], cases: ["Sales"], autoReplies: ["Sales"]))
        let second = try await sc.deliver(["To: Undisclosed recipients:;", "Subject: Bcc, Support first"])
        await sc.poll(supportAccount, salesAccount)
        #expect(try await sc.outcome(tenant, second) == Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"]))
    }

    /// Sales creates no cases but answers automatically: stored first by Sales, the email still opens
    /// its case in Support, answered once, from Support.
    @Test func pollerWithoutCasesLeavesTheCaseAndTheAnswerToTheOwner() async throws {
        let (tenant, supportAccount, salesAccount) = try await sc.tenant("owner-nocase", salesCase: nil)
        let id = try await sc.deliver(["To: \(sales.address)", "Cc: \(support.address)", "Subject: Sales has no cases"])
        await sc.poll(salesAccount)
        #expect(try await sc.outcome(tenant, id) == Outcome(linked: ["Sales"], cases: ["Support"], autoReplies: ["Support"]))
        await sc.poll(supportAccount)
        #expect(try await sc.outcome(tenant, id) == Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"]))
    }

    /// Two runners (each with its own connections, as two replicas) poll the two mailboxes at the same
    /// moment, several rounds: each message ends with one case, in Support. With `salesCreatesCases`
    /// off, a round Sales wins stores the email under an account that creates no cases itself.
    @Test(arguments: [true, false])
    func twoRunnersPollingAtOnceMakeOneCase(_ salesCreatesCases: Bool) async throws {
        let (tenant, supportAccount, salesAccount) = try await sc.tenant(
            "owner-race", salesCase: salesCreatesCases ? "{create: true, distribution: direct, assign_to: bob}" : nil)
        let expected = Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"])
        var storedFirstBy: [String: Int] = [:]
        for round in 0..<5 {
            let id = try await sc.deliver(["To: \(support.address)", "Cc: \(sales.address)", "Subject: Race \(round)"])
            let one = s.f.caseRunner(), other = s.f.caseRunner()
            async let a = one.pollAccountUntilIdle(supportAccount)
            async let b = other.pollAccountUntilIdle(salesAccount)
            let (supportReports, salesReports) = await (a, b)
            let imported = (supportReports.map(\.imported).reduce(0, +), salesReports.map(\.imported).reduce(0, +))
            #expect(imported.0 + imported.1 == 1, "exactly one runner stored the email as new")
            storedFirstBy[imported.0 == 1 ? "Support" : "Sales", default: 0] += 1
            #expect(try await sc.outcome(tenant, id) == expected, "round \(round)")
        }
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM support_case") == 5)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email WHERE is_auto_reply") == 5)
        print("two runners at once, salesCreatesCases=\(salesCreatesCases): stored first by \(storedFirstBy)")
    }
}
