import Foundation
import MailCore
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Delivery reports end to end on the real Postgres, Postfix and Dovecot (docs/bounces.md): a case
/// reply to a user Dovecot does not know is bounced by Postfix to the group address it came from, and
/// importing that bounce records it on the reply and the address without touching the case.
@Suite struct BounceEndToEndTests {
    @Test func aCaseReplyToAnUnknownUserBouncesBackAndTheNextOneIsRefused() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "e2e-support")
        let customer = try s.f.server.createMailbox(prefix: "e2e-customer")  // not "bounce-…": no_reply_pattern
        // No such user: Dovecot's LMTP refuses the RCPT with 550 5.1.1, and Postfix returns the mail to its
        // envelope sender, the support address (a mailbox of the test Dovecot).
        let gone = "gone-\(UUID().uuidString.prefix(12).lowercased())@\(TestMailServer.domain)"
        let first = "first-\(UUID().uuidString)@customer.test"
        try s.f.server.deliverToMaildir(support, messages: [TestMessages.plain(
            id: first, subject: "Printer on fire", from: "Carla Customer <\(customer.address)>", to: support.address)])
        let tenant = try await s.tenant("bounce-e2e", accounts: [s.account("Support", support, extra: [
            "case: {create: true, distribution: direct, team: support, assign_to: alice, reopen: {enabled: true, status: Assigned}}",
            "auto_reply: {enabled: true, body: 'We got your message.'}",
        ])])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        let supportCase = try #require(try await s.f.parent(tenant, first))
        let alice = try await s.user(tenant, "alice"), bob = try await s.user(tenant, "bob")
        try await s.f.query(tenant) { conn in
            try FollowQueries.followAdd(conn, tenant: tenant, user: bob, record: supportCase)
            try conn.execute("UPDATE support_case SET status = 'Closed' WHERE id = \(supportCase.id)")
        }
        // The new case's auto-reply to the customer goes out with the reply below.
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM email WHERE is_auto_reply") == 1)

        let reply = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: [gone], subject: "Re: Printer on fire",
                                                         text: "A technician is on the way.", parent: ("case", supportCase.id)))
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, reply).status == "Sent")
        // The first message (delivered by hand) and Postfix's bounce.
        #expect(try await s.waitForMessages(support, count: 2))
        let notificationsBefore = try await s.f.count(tenant, "SELECT count(*)::int FROM notification")
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())

        // The reply: Bounced, with the recipient, its class and code.
        #expect(try await s.status(tenant, reply).status == "Bounced")
        let bounces = try await s.f.query(tenant) { try EmailBounceQueries.emailBounceList($0, tenant: tenant, outbound: reply) }
        #expect(bounces.map(\.recipient) == [gone])
        #expect(bounces.first?.action == "failed" && bounces.first?.severity == "hard")
        #expect(bounces.first?.statusCode == "5.1.1")
        let report = try #require(bounces.first?.report)
        // The address is marked, from this reply.
        let health = try #require(try await s.f.query(tenant) { try AddressHealthQueries.addressHealthGet($0, tenant: tenant, address: gone) })
        #expect(health.undeliverableAt != nil && health.email == reply && health.report == report)
        // The report belongs to the case, which stays closed; nothing else happened.
        #expect(try await s.f.query(tenant) { try $0.query("SELECT parent_id FROM email WHERE id = \(report)").one().decode(Int64?.self, at: 0) }
                == supportCase.id)
        #expect(try await s.f.cases(tenant).map(\.status) == ["Closed"])
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM email WHERE is_auto_reply") == 1, "no auto-reply to the bounce")
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM notification") == notificationsBefore, "no follower told")
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM stream_entry WHERE kind = 'reopened'") == 0)
        let stream = try await s.f.query(tenant) { try StreamQueries.streamKinds($0, tenant: tenant, record: supportCase) }
        #expect(stream.last == "email_bounced")
        let events = try await EventSchemas.events(s.f.pool, tenant: tenant).filter { $0.type == "email.bounced" }
        #expect(events.count == 1)
        for event in events { #expect(try EventSchemas.violations(event) == []) }

        // The next reply to that address is refused, naming it; sent anyway, it is queued.
        do {
            _ = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: [gone], subject: "Again", text: "x",
                                                     parent: ("case", supportCase.id)))
            Issue.record("queued to an undeliverable address")
        } catch let e as PostgresError {
            #expect(e.sqlState == "22023")
            #expect(e.message.contains("\(gone) is undeliverable") && e.message.contains("5.1.1"), "\(e.message)")
        }
        let anyway = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: [gone], subject: "Again", text: "x",
                                                          parent: ("case", supportCase.id), sendAnyway: true))
        #expect(try await s.status(tenant, anyway).status == "Sending")
    }
}
