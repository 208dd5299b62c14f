import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// A mail loop across two tenants on the real servers: each has a group mailbox that opens cases and
/// auto-replies, and both have the same careless correspondent, a `NaiveResponder` that answers every
/// mail while ignoring `Auto-Submitted` and `X-Loop` and starting a new thread each time (so threading
/// cannot stop it). Our auto-replies are automatic mail, but its answers to them are not: without a
/// breaker each answer opens a case whose auto-reply it answers again.
///
/// Tenant A is stopped by its storm breaker (2 new cases per sender in 10 minutes; its auto-reply limit
/// is set high so that only the breaker can stop it), tenant B, with default settings, by the default
/// auto-reply limit (2 per sender in 2 hours; its breaker keeps the default 20). The workers (in-process import runners and send
/// handlers, as the worker runs them) and the responder take turns until nothing more moves: every
/// message sent has arrived and three complete cycles in a row imported, sent and answered nothing.
@Suite struct StormLoopTests {
    @Test func aTwoTenantLoopWithANaiveResponderStops() async throws {
        let s = try await SendingFixture.make()
        let f = s.f
        let a = try f.server.createMailbox(prefix: "loop-a"), b = try f.server.createMailbox(prefix: "loop-b")
        let naive = NaiveResponder(server: f.server, mailbox: try f.server.createMailbox(prefix: "loop-naive"))
        let cases = "case: {create: true, distribution: direct, assign_to: alice"
        let (ta, slugA) = try await f.tenant("loop-a", accounts: [s.account("Support", a, extra: [
            cases + ", sender_limit: {cases: 2, reopens: 2, window: 10m}}",
            "auto_reply: {enabled: true, body: 'We opened a case for you.', limit: {count: 100, window: 2h}}",
        ])])
        let (tb, slugB) = try await f.tenant("loop-b", accounts: [s.account("Support", b, extra: [
            cases + "}",
            "auto_reply: {enabled: true, body: 'Thanks, we will answer soon.'}",
        ])])

        // One customer mail from the responder's address to both tenants starts it.
        let seed = TestMessages.plain(id: "loop-seed-\(UUID().uuidString)@naive.test", subject: "Where is my order?",
                                      from: "Naive Ticket System <\(naive.mailbox.address)>", to: "\(a.address), \(b.address)")
        try f.server.deliverToMaildir(a, messages: [seed])
        try f.server.deliverToMaildir(b, messages: [seed])

        func sentAutoReplies(_ t: TenantID) async throws -> Int {
            try await f.count(t, "SELECT count(*) FROM email WHERE is_auto_reply AND status = 'Sent'")
        }
        func emails(_ t: TenantID) async throws -> Int { try await f.count(t, "SELECT count(*) FROM email") }
        /// Everything sent has reached its mailbox: the responder's inbox holds every auto-reply sent,
        /// each tenant's mailbox the seed and every answer to it.
        func delivered() async throws -> Bool {
            let answers = naive.answered
            return try f.server.messageCount(naive.mailbox) == (try await sentAutoReplies(ta)) + (try await sentAutoReplies(tb))
                && f.server.messageCount(a) == 1 + answers[a.address.lowercased(), default: 0]
                && f.server.messageCount(b) == 1 + answers[b.address.lowercased(), default: 0]
        }

        let started = Date()
        var idleCycles = 0, cycles = 0
        var last: [Int] = []
        while idleCycles < 3 {
            cycles += 1
            try #require(cycles <= 40, "the loop did not stop")
            let runner = f.caseRunner()
            for t in [ta, tb] {
                _ = try await f.importAll(t, runner: runner)
                #expect(try await s.runSends(t).isEmpty)
            }
            try naive.poll()
            #expect(try await Eventually.until(timeout: .seconds(60)) { (try? await delivered()) ?? false },
                    "Postfix delivered every message sent")
            let now = [try await emails(ta), try await emails(tb), naive.answered.values.reduce(0, +)]
            idleCycles = now == last ? idleCycles + 1 : 0
            last = now
        }
        #expect(Date().timeIntervalSince(started) < 600, "every message counted below was sent within 10 minutes")

        // Per tenant and sender, every email the tenant holds (received or sent) within any 10 minutes.
        for t in [ta, tb] {
            let most = try await f.query(t) { conn in
                try conn.query("""
                    SELECT sender, max(n)::int FROM (
                        SELECT lower(from_address) AS sender, count(*) OVER (
                            PARTITION BY lower(from_address) ORDER BY imported_at RANGE BETWEEN interval '10 minutes' PRECEDING AND CURRENT ROW) AS n
                        FROM email) w
                    GROUP BY sender
                    """).map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) }
            }
            #expect(!most.isEmpty)
            for (sender, n) in most { #expect(n <= 3, "\(sender) has \(n) messages within 10 minutes") }
        }
        // And per mailbox: the responder answered each tenant at most 3 times, and got as few.
        for box in [a, b] { #expect(naive.answered[box.address.lowercased(), default: 0] <= 3) }
        #expect(try f.server.messageCount(naive.mailbox) <= 6)

        // A: two cases, then the breaker; B: the auto-reply limit, no trip.
        #expect(try await f.cases(ta).count == 2)
        #expect(try await sentAutoReplies(ta) == 2)
        #expect(try await sentAutoReplies(tb) == 2)
        let tripsA = try await f.query(ta) { try CaseSenderLimitQueries.caseSenderListTripped($0, tenant: ta) }
        #expect(tripsA.map(\.sender) == [naive.mailbox.address.lowercased()])
        #expect(tripsA.first?.account == "Support" && tripsA.first?.slot == .create && (tripsA.first?.heldBack ?? 0) >= 1)
        #expect(try await f.query(tb) { try CaseSenderLimitQueries.caseSenderListTripped($0, tenant: tb) }.isEmpty)

        let status = try await MailroomBinary.run(["status", "--tenant", slugA])
        #expect(status.status == 0, "\(status.stderr)")
        let line = status.stdout.split(separator: "\n").first { $0.contains(naive.mailbox.address.lowercased()) }
        #expect(line?.contains(slugA) == true && line?.contains("Support") == true)
        #expect(!(try await MailroomBinary.run(["status", "--tenant", slugB]).stdout.contains(naive.mailbox.address.lowercased())))
    }
}
