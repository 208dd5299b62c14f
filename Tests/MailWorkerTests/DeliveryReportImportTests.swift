import Foundation
import MailCore
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Delivery reports met by the import (docs/bounces.md), on the real Dovecot and Postgres: recorded and
/// tied, kept away from cases, notifications and auto-replies, whatever they report on.
@Suite struct DeliveryReportImportTests {
    /// An RFC 3464 report from a remote MTA that `recipient` failed (550 5.1.1), returning the headers of
    /// the message `returned` (its Message-ID, without brackets).
    static func report(id: String, to: String, recipient: String, returned: String, status: String = "5.1.1",
                       returnedSubject: String = "Re: Printer on fire") -> [UInt8] {
        TestMessages.crlf("""
            From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>
            To: \(to)
            Subject: Undelivered Mail Returned to Sender
            Date: Tue, 01 Dec 2026 10:00:00 +0000
            Message-ID: <\(id)>
            Auto-Submitted: auto-replied
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"

            --dsn
            Content-Type: text/plain; charset=us-ascii

            This is the mail system at host mx.customer.test.
            Your message could not be delivered to one or more recipients.

            <\(recipient)>: host mx.customer.test said: 550 \(status) User unknown

            --dsn
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.customer.test

            Final-Recipient: rfc822; \(recipient)
            Action: failed
            Status: \(status)
            Diagnostic-Code: smtp; 550 \(status) <\(recipient)>: User unknown

            --dsn
            Content-Type: text/rfc822-headers

            From: Acme Support <\(to)>
            To: \(recipient)
            Subject: \(returnedSubject)
            Message-ID: <\(returned)>

            --dsn--

            """)
    }

    /// A group account on `box` that creates cases (assigned to alice), reopens closed ones, answers
    /// new mail with an auto-reply and submits through the test Postfix.
    static func account(_ s: SendingFixture, _ box: TestMailbox, cases: Bool = true) -> TestGroupAccount {
        s.account("Support", box, extra: (cases ? [
            "case: {create: true, distribution: direct, team: support, assign_to: alice, reopen: {enabled: true, status: Assigned}}",
        ] : []) + ["auto_reply: {enabled: true, body: 'We got your message.'}"])
    }

    @Test func aReportAboutOurAutoReplyOrAboutAReportProducesNothing() async throws {
        let s = try await SendingFixture.make()
        let box = try s.f.server.createMailbox(prefix: "dsn-auto")
        let customer = "carla-\(UUID().uuidString.prefix(8).lowercased())@customer.test"
        let first = "first-\(UUID().uuidString)@customer.test"
        try s.f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: first, subject: "Printer on fire",
                                                                           from: customer, to: box.address)])
        let tenant = try await s.tenant("dsn-auto", accounts: [Self.account(s, box)])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        let supportCase = try #require(try await s.f.parent(tenant, first))
        // The new case's auto-reply, queued: the report below returns it.
        let autoReply = try await s.f.query(tenant) { conn in
            let row = try conn.query("SELECT id, message_id FROM email WHERE is_auto_reply").one()
            return (id: try row.decode(EmailID.self, at: 0), messageID: try row.decode(String.self, at: 1))
        }
        try await s.f.query(tenant) { try $0.execute("UPDATE support_case SET status = 'Closed'") }
        let notifications = try await s.f.count(tenant, "SELECT count(*)::int FROM notification")

        // A report about the auto-reply, and a report about that report (a remote system bouncing it).
        let aboutAutoReply = "dsn-1-\(UUID().uuidString)@mx.customer.test"
        let aboutReport = "dsn-2-\(UUID().uuidString)@mx.customer.test"
        try s.f.server.deliverToMaildir(box, messages: [
            Self.report(id: aboutAutoReply, to: box.address, recipient: customer, returned: autoReply.messageID),
            Self.report(id: aboutReport, to: box.address, recipient: "postmaster@customer.test", returned: aboutAutoReply,
                        returnedSubject: "Undelivered Mail Returned to Sender"),
        ])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())

        // The first is tied to the auto-reply: Bounced, the customer marked, the report on the case.
        #expect(try await s.status(tenant, autoReply.id).status == "Bounced")
        #expect(try await s.f.parent(tenant, aboutAutoReply) == supportCase)
        let marked = try await s.f.query(tenant) { try AddressHealthQueries.addressHealthIsUndeliverable($0, tenant: tenant, address: customer) }
        #expect(marked)
        // The second names no email we sent: stored, untied, linked to nothing.
        #expect(try await s.f.parent(tenant, aboutReport) == nil)
        let untied = try await s.f.count(tenant, "SELECT count(*)::int FROM email_bounce WHERE email_id IS NULL")
        #expect(untied == 1)
        // Nothing produced: no case, no reopening, no auto-reply, nobody told.
        #expect(try await s.f.cases(tenant).map(\.status) == ["Closed"])
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM email WHERE is_auto_reply") == 1)
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM email WHERE queued_at IS NOT NULL") == 1)
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM notification") == notifications)
    }

    @Test func aReportToAnAccountWithoutCasesIsNotAnsweredAndTheSenderWritingAgainClearsTheMark() async throws {
        let s = try await SendingFixture.make()
        let box = try s.f.server.createMailbox(prefix: "dsn-plain")
        let customer = "dan-\(UUID().uuidString.prefix(8).lowercased())@customer.test"
        let tenant = try await s.tenant("dsn-plain", accounts: [Self.account(s, box, cases: false)])
        let alice = try await s.user(tenant, "alice")
        let sent = try await s.queue(tenant, EmailDraft(account: try await s.accountID(tenant, "Support"), user: alice, to: [customer],
                                                        subject: "Your order", text: "x"))
        let sentMessageID = try await s.f.query(tenant) {
            try $0.query("SELECT message_id FROM email WHERE id = \(sent)").one().decode(String.self, at: 0)
        }
        let reportID = "dsn-\(UUID().uuidString)@mx.customer.test"
        try s.f.server.deliverToMaildir(box, messages: [Self.report(id: reportID, to: box.address, recipient: customer, returned: sentMessageID)])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        #expect(try await s.status(tenant, sent).status == "Bounced")
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM email WHERE is_auto_reply") == 0)
        #expect(try await s.f.query(tenant) { try AddressHealthQueries.addressHealthIsUndeliverable($0, tenant: tenant, address: customer) })

        // The customer writes to us: the mark clears in the transaction that stores the mail.
        let hello = "hello-\(UUID().uuidString)@customer.test"
        try s.f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: hello, subject: "I am back", from: customer, to: box.address)])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        let health = try #require(try await s.f.query(tenant) { try AddressHealthQueries.addressHealthGet($0, tenant: tenant, address: customer) })
        #expect(health.undeliverableAt == nil)
        let helloID = try await s.f.query(tenant) { try $0.query("SELECT id FROM email WHERE message_id = \(hello)").one().decode(Int64.self, at: 0) }
        #expect(health.clearedBy == "inbound email \(helloID)")
        // And that mail is answered as any other.
        #expect(try await s.f.count(tenant, "SELECT count(*)::int FROM email WHERE is_auto_reply") == 1)
    }
}
