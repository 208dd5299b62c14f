import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Two tenants' support mailboxes, both answering automatically: a customer email to the first whose
/// sender is the second must produce at most one auto-reply in each direction.
@Suite struct AutoReplyStormTests {
    @Test func twoAutoRespondersDoNotStorm() async throws {
        let s = try await SendingFixture.make()
        let a = try s.f.server.createMailbox(prefix: "storm-a"), b = try s.f.server.createMailbox(prefix: "storm-b")
        let autoReply = "auto_reply: {enabled: true, subject: 'Re: {{subject}}', body: 'Hello {{from.name}}, we got it.'}"
        let ta = try await s.tenant("storm-a", accounts: [s.account("Support", a, extra: [autoReply])])
        let tb = try await s.tenant("storm-b", accounts: [s.account("Support", b, extra: [autoReply])])
        let first = TestMessages.crlf("""
            Message-ID: <storm-\(UUID().uuidString)@test.local>
            From: B Support <\(b.address)>
            To: \(a.address)
            Subject: Printer on fire
            Date: Thu, 01 Jan 2026 10:00:00 +0000

            Help.
            """)
        try s.f.server.deliverToMaildir(a, messages: [first])
        func autoReplies(_ t: TenantID) async throws -> Int { try await s.f.count(t, "SELECT count(*) FROM email WHERE is_auto_reply") }

        // Round after round, each side imports what arrived and sends what it queued.
        for _ in 0..<3 {
            _ = try await s.f.importAll(ta)
            #expect(try await s.runSends(ta).isEmpty)
            _ = try await s.f.importAll(tb)
            #expect(try await s.runSends(tb).isEmpty)
        }
        #expect(try await autoReplies(ta) == 1)
        #expect(try await autoReplies(tb) == 0, "B must not answer A's auto-reply")
        #expect(try await s.waitForMessages(b, count: 1))
        let subject: String = try await s.f.query(ta) { try $0.query("SELECT subject FROM email WHERE is_auto_reply").one().decode(at: 0) }
        #expect(subject == "Re: Printer on fire")
        let body: String = try await s.f.query(ta) { try $0.query("SELECT body_text FROM email WHERE is_auto_reply").one().decode(at: 0) }
        #expect(body == "Hello B Support, we got it.")
        _ = try await s.f.importAll(tb)
        #expect(try await s.f.count(tb, "SELECT count(*) FROM email WHERE headers @> '[[\"Auto-Submitted\", \"auto-replied\"]]'") == 1)
        #expect(try await autoReplies(tb) == 0)
    }

    @Test func slidingWindowLimitsRepliesPerSender() async throws {
        let s = try await SendingFixture.make()
        let a = try s.f.server.createMailbox(prefix: "limit-a")
        let ta = try await s.tenant("limit-a", accounts: [s.account("Support", a, extra: [
            "auto_reply: {enabled: true, body: 'Thanks', limit: {count: 2, window: 2h}}",
        ])])
        let mails = (0..<4).map { i in
            TestMessages.crlf("""
                Message-ID: <limit-\(i)-\(UUID().uuidString)@test.local>
                From: Peter <peter@initech.test>
                To: \(a.address)
                Subject: Question \(i)

                ?
                """)
        }
        let reply = TestMessages.crlf("""
            Message-ID: <limit-r-\(UUID().uuidString)@test.local>
            From: Mary <mary@initech.test>
            To: \(a.address)
            Subject: Re: Old thread
            In-Reply-To: <\(String(decoding: mails[0].dropFirst(13).prefix(while: { $0 != 62 }), as: UTF8.self))>

            ?
            """)
        try s.f.server.deliverToMaildir(a, messages: mails + [reply])
        _ = try await s.f.importAll(ta)
        #expect(try await s.f.count(ta, "SELECT count(*) FROM email WHERE is_auto_reply") == 2)
        #expect(try await s.f.count(ta, "SELECT count(*) FROM email_recipient r JOIN email e ON e.id = r.email_id AND e.tenant_id = r.tenant_id WHERE e.is_auto_reply AND r.kind = 'to' AND r.address = 'mary@initech.test'") == 0,
                "a reply within a thread we hold is not the first email of a thread")
    }
}
