import Foundation
import MailCore
import MailCrypto
import MailDomain
import MailMIME
@testable import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// Replies on a case, end to end on the real Postgres, Postfix and Dovecot: the agent's reply leaves
/// from the case's group address and threads back when the customer answers.
@Suite struct CaseReplyTests {
    /// A group account on `box` that creates cases (assigned to alice), submits through the test
    /// Postfix, and has a display name and a Reply-To address.
    func supportAccount(_ s: SendingFixture, _ box: TestMailbox, extra: [String] = []) -> TestGroupAccount {
        s.account("Support", box, extra: [
            "case: {create: true, distribution: direct, team: support, assign_to: alice}",
            "display_name: Acme Support",
            "reply_to: help@acme.test",
        ] + extra)
    }

    /// The messages of `mailbox`'s INBOX, parsed, in UID order.
    func inbox(_ s: SendingFixture, _ mailbox: TestMailbox) async throws -> [ParsedMessage] {
        let imap = try await IMAPConnection(endpoint: s.f.server.endpoint(for: mailbox))
        defer { imap.close() }
        return try await imap.run { session in
            try session.searchUIDs("INBOX", after: nil).map { try MIMEParser.parse(try session.fetchMessage("INBOX", uid: $0)) }
        }
    }

    func emailID(_ s: SendingFixture, _ tenant: TenantID, messageID: String) async throws -> EmailID {
        try await s.f.query(tenant) { try $0.query("SELECT id FROM email WHERE message_id = \(messageID)").one().decode(at: 0) }
    }

    @Test func anAgentsReplyLeavesFromTheGroupAddressAndTheCustomersAnswerJoinsTheCase() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "reply-support")
        let customer = try s.f.server.createMailbox(prefix: "reply-customer")
        let first = "first-\(UUID().uuidString)@customer.test"
        // The customer's first mail answers something we never held: a new case, and the chain to keep.
        try s.f.server.deliverToMaildir(support, messages: [TestMessages.plain(
            id: first, subject: "Printer on fire", from: "Carla Customer <\(customer.address)>", to: support.address,
            extraHeaders: ["References: <older@customer.test>"])])
        let tenant = try await s.tenant("reply-e2e", accounts: [supportAccount(s, support)])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        let supportCase = try #require(try await s.f.parent(tenant, first))
        #expect(supportCase.type == .supportCase)
        #expect(try await s.f.cases(tenant).map(\.number) == [1])
        let alice = try await s.user(tenant, "alice"), bob = try await s.user(tenant, "bob")
        // bob follows the case too; alice follows it as its assignee.
        try await s.f.query(tenant) { try FollowQueries.followAdd($0, tenant: tenant, user: bob, record: supportCase) }

        // alice replies on the case, as the host CRM would: no account, no recipient, no email named.
        let reply = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: [], subject: "Re: Printer on fire",
                                                         text: "We are sending a technician.", parent: ("case", supportCase.id)))
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, reply).status == "Sent")
        #expect(try await s.waitForMessages(customer, count: 1))

        // What the customer's mailbox holds.
        let received = try #require(try await inbox(s, customer).first)
        #expect(received.from == [MailAddress(name: "Acme Support", address: support.address)])
        #expect(received.replyTo.map(\.address) == ["help@acme.test"])
        #expect(received.subject == "Re: [#1] Printer on fire")
        #expect(received.subject?.components(separatedBy: "[#1]").count == 2, "the tag exactly once")
        let messageID = try #require(received.messageID)
        let signer = RecordTokenSigner(master: s.f.key, tenant: tenant)
        let token = try #require(signer.verify(messageID))
        #expect(token.type == .supportCase && token.id == supportCase.id)
        #expect(received.inReplyTo == [first])
        #expect(received.references == ["older@customer.test", first])

        // The row: Sent, on the case, the Message-ID that went out, in the case's stream.
        let row = try await s.f.query(tenant) { conn in
            let r = try conn.query("""
                SELECT e.message_id, e.parent_type, e.parent_id, a.name FROM email e
                JOIN mail_account a ON a.tenant_id = e.tenant_id AND a.id = e.send_account_id WHERE e.id = \(reply)
                """).one()
            return (try r.decode(String.self, at: 0), try r.decode(String.self, at: 1), try r.decode(Int64.self, at: 2),
                    try r.decode(String.self, at: 3))
        }
        #expect(row.0 == messageID)
        #expect(row.1 == "case" && row.2 == supportCase.id)
        #expect(row.3 == "Support", "sent through the case's account")
        let stream = try await s.f.query(tenant) { try StreamQueries.streamKinds($0, tenant: tenant, record: supportCase) }
        #expect(stream == ["case_created", "assigned", "email_received", "email_sent"])
        // alice's reply tells the case's other follower, bob, and never alice herself.
        let toldOfReply = try await s.f.query(tenant) { try NotificationQueries.notificationList($0, tenant: tenant) }
            .filter { $0.emailID == reply }
        #expect(toldOfReply.map(\.userID) == [bob])
        #expect(toldOfReply.map(\.kind) == ["email_sent"])

        // The customer answers from their client: In-Reply-To our Message-ID, the chain in References,
        // the subject as their client makes it. It reaches the support mailbox; the worker imports it.
        let answer = "answer-\(UUID().uuidString)@customer.test"
        try s.f.server.deliverToMaildir(support, messages: [TestMessages.plain(
            id: answer, subject: "Re: Re: [#1] Printer on fire", from: "Carla Customer <\(customer.address)>", to: support.address,
            body: "Thanks, the fire is out.\n",
            extraHeaders: ["In-Reply-To: <\(messageID)>", "References: <older@customer.test> <\(first)> <\(messageID)>"])])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        #expect(try await s.f.parent(tenant, answer) == supportCase)
        #expect(try await s.f.cases(tenant).count == 1, "no new case")
        let answerID = try await emailID(s, tenant, messageID: answer)
        let notified = try await s.f.query(tenant) { try NotificationQueries.notificationList($0, tenant: tenant) }
            .filter { $0.emailID == answerID }
        #expect(notified.map(\.userID).sorted() == [alice, bob].sorted(), "each follower exactly once")

        // The next reply answers the latest inbound email: the customer's answer, with the whole chain.
        let second = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: [], subject: "Re: [#1] Printer on fire",
                                                          text: "Glad to hear.", parent: ("case", supportCase.id)))
        let threading = try await s.f.query(tenant) { conn in
            let r = try conn.query("SELECT subject, in_reply_to, \"references\" FROM email WHERE id = \(second)").one()
            return (try r.decode(String.self, at: 0), try r.decode(String.self, at: 1), try r.decode(PostgresTextArray.self, at: 2).elements)
        }
        #expect(threading.0 == "Re: [#1] Printer on fire", "a subject already tagged stays as typed")
        #expect(threading.1 == answer)
        #expect(threading.2 == ["older@customer.test", first, messageID, answer])
    }

    @Test func theSignedMessageIDIsWrittenBeforeTheFirstAttemptAndKeptAcrossRetries() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "reply-retry")
        let customer = try s.f.server.createMailbox(prefix: "reply-retry-cust")
        let first = "retry-\(UUID().uuidString)@customer.test"
        try s.f.server.deliverToMaildir(support, messages: [TestMessages.plain(
            id: first, subject: "Broken stapler", from: customer.address, to: support.address)])
        let tenant = try await s.tenant("reply-retry", accounts: [supportAccount(s, support)])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        let supportCase = try #require(try await s.f.parent(tenant, first))
        let alice = try await s.user(tenant, "alice")
        let signer = RecordTokenSigner(master: s.f.key, tenant: tenant)
        func messageID(_ id: EmailID) async throws -> String {
            try await s.f.query(tenant) { try $0.query("SELECT message_id FROM email WHERE id = \(id)").one().decode(at: 0) }
        }

        // Postfix answers 450 for tempfail.test: the first attempt fails temporarily.
        let delayed = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: ["someone@tempfail.test"], subject: "Stapler",
                                                           text: "x", parent: ("case", supportCase.id)))
        // A caller that signed the Message-ID for this case keeps it; one signed for another record
        // and a random one are replaced.
        let presigned = signer.messageID(type: .supportCase, id: supportCase.id, domain: "acme.test")
        let kept = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: [customer.address], subject: "Kept", text: "x",
                                                        parent: ("case", supportCase.id), messageID: presigned))
        let foreign = try await s.queue(tenant, EmailDraft(
            account: nil, user: alice, to: [customer.address], subject: "Other", text: "x", parent: ("case", supportCase.id),
            messageID: signer.messageID(type: .supportCase, id: supportCase.id + 1000, domain: "acme.test")))
        let random = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: [customer.address], subject: "Random",
                                                          text: "x", parent: ("case", supportCase.id), messageID: "chosen@acme.test"))
        #expect(signer.verify(try await messageID(delayed)) == nil, "queued with a random Message-ID: the database cannot sign")

        let errors = try await s.runSends(tenant, attempt: 1, maxAttempts: 3)
        #expect(errors.count == 1)
        #expect(try await s.status(tenant, delayed).status == "Sending")
        let signed = try await messageID(delayed)
        #expect(signer.verify(signed)?.id == supportCase.id, "signed and committed before the first submission")
        #expect(try await messageID(kept) == presigned)
        for id in [foreign, random] {
            #expect(try await s.status(tenant, id).status == "Sent")
            #expect(signer.verify(try await messageID(id))?.id == supportCase.id)
        }
        #expect(try await s.waitForMessages(customer, count: 3))
        let ids = try await inbox(s, customer).compactMap(\.messageID)
        #expect(Set(ids) == Set([presigned, try await messageID(foreign), try await messageID(random)]))

        // The retry submits the same Message-ID.
        try await s.f.query(tenant) { try $0.execute("UPDATE job SET state = 'ready' WHERE tenant_id = \(tenant) AND kind = 'send' AND payload->>'email' = \(String(delayed.rawValue))") }
        _ = try await s.runSends(tenant, attempt: 2, maxAttempts: 3)
        #expect(try await messageID(delayed) == signed)
        #expect(try await s.f.query(tenant) { try $0.query("SELECT send_attempts FROM email WHERE id = \(delayed)").one().decode(Int.self, at: 0) } == 2)
    }

    @Test func aCaseReplyIsRefusedWithoutACaseOrAnAccount() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "reply-refuse")
        let tenant = try await s.tenant("reply-refuse", accounts: [supportAccount(s, support)])
        let alice = try await s.user(tenant, "alice")
        let account = try await s.accountID(tenant, "Support")
        let manual = try await s.f.query(tenant) { conn -> Int64 in
            // A case entered by hand: no account it came from, no email.
            let id = try CaseQueries.caseCreate(conn, tenant: tenant, .init(
                name: "Phone call", description: nil, status: "New", teamID: nil, assignedUserID: nil, contactID: nil,
                accountID: nil, leadID: nil, sourceAccountID: account)).id
            try conn.execute("UPDATE support_case SET source_account_id = NULL WHERE id = \(id)")
            return id
        }
        let cases: [(Int64, String)] = [(manual + 999, "does not exist"), (manual, "has no mail account")]
        for (id, expected) in cases {
            do {
                _ = try await s.queue(tenant, EmailDraft(account: nil, user: alice, to: ["c@test.local"], subject: "x", text: "y",
                                                         parent: ("case", id)))
                Issue.record("queued: \(expected)")
            } catch let e as PostgresError {
                #expect(e.sqlState == "22023")
                #expect(e.message.contains(expected), "\(e.message)")
            }
        }
        // Naming the account works; the subject gets the tag; without an email to answer, no threading.
        let id = try await s.queue(tenant, EmailDraft(account: account, user: alice, to: ["c@test.local"], subject: "Your call",
                                                      text: "y", parent: ("case", manual)))
        let row = try await s.f.query(tenant) { conn in
            let r = try conn.query("SELECT subject, in_reply_to FROM email WHERE id = \(id)").one()
            return (try r.decode(String.self, at: 0), try r.decode(String?.self, at: 1))
        }
        #expect(row.0 == "[#1] Your call")
        #expect(row.1 == nil)
    }

    @Test func theSubjectCarriesTheCaseTagExactlyOnce() async throws {
        let pool = try await TestDatabase.pool()
        let table: [(String?, String)] = [
            ("Printer", "[#12] Printer"),
            ("Re: Printer", "Re: [#12] Printer"),
            ("Re: [#12] Printer", "Re: [#12] Printer"),
            ("RE: Fwd: Printer", "RE: Fwd: [#12] Printer"),
            ("AW: WG: Drucker", "AW: WG: [#12] Drucker"),
            ("[#12] [#12] Printer [#012]", "[#12] Printer"),
            ("Printer [#12]", "Printer [#12]"),
            ("Re: [#13] Printer", "Re: [#12] [#13] Printer"),
            ("[#120] Printer", "[#12] [#120] Printer"),
            ("Repair: the printer", "[#12] Repair: the printer"),
            ("", "[#12]"),
            (nil, "[#12]"),
        ]
        for (typed, expected) in table {
            let got: String = try await pool.withConnection { try $0.query("SELECT mailroom_case_subject(\(typed), 12)").one().decode(at: 0) }
            #expect(got == expected, "\(typed ?? "nil")")
            #expect(CaseNumberTag.parse(got) == 12, "the first tag the importer reads is the case's")
        }
    }

    @Test func aNewCasesAutoReplyIsQueuedOnceCarriesTheNumberAndThreadsBack() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "reply-auto")
        let customer = try s.f.server.createMailbox(prefix: "reply-auto-cust")
        let first = "auto-\(UUID().uuidString)@customer.test"
        try s.f.server.deliverToMaildir(support, messages: [TestMessages.plain(
            id: first, subject: "Printer on fire", from: "Carla Customer <\(customer.address)>", to: support.address)])
        let tenant = try await s.tenant("reply-auto", accounts: [supportAccount(s, support, extra: [
            "auto_reply: {enabled: true, subject: 'Re: {{subject}} [#{{case.number}}]', body: 'Case {{case.number}}: {{case.name}}'}",
        ])])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        let supportCase = try #require(try await s.f.parent(tenant, first))

        // The customer writes again in the same thread: it joins the case and is not answered again.
        try s.f.server.deliverToMaildir(support, messages: [TestMessages.plain(
            id: "again-\(first)", subject: "Re: Printer on fire", from: customer.address, to: support.address,
            extraHeaders: ["In-Reply-To: <\(first)>"])])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        #expect(try await s.f.parent(tenant, "again-\(first)") == supportCase)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email WHERE is_auto_reply") == 1, "queued once")

        let (autoID, subject, body, rowMessageID, parent) = try await s.f.query(tenant) { conn in
            let r = try conn.query("SELECT id, subject, body_text, message_id, parent_type, parent_id FROM email WHERE is_auto_reply").one()
            return (try r.decode(EmailID.self, at: 0), try r.decode(String.self, at: 1), try r.decode(String.self, at: 2),
                    try r.decode(String.self, at: 3), RecordRef(RecordType(rawValue: try r.decode(String.self, at: 4))!, try r.decode(Int64.self, at: 5)))
        }
        #expect(parent == supportCase, "the auto-reply is an email of the case")
        #expect(subject == "Re: Printer on fire [#1]")
        #expect(body == "Case 1: Printer on fire")
        let signer = RecordTokenSigner(master: s.f.key, tenant: tenant)
        #expect(signer.verify(rowMessageID)?.id == supportCase.id, "signed when queued, in the import transaction")

        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, autoID).status == "Sent")
        #expect(try await s.waitForMessages(customer, count: 1))
        let received = try #require(try await inbox(s, customer).first)
        #expect(received.messageID == rowMessageID, "the worker keeps a Message-ID that already verifies")
        #expect(signer.verify(try #require(received.messageID))?.type == .supportCase)
        #expect(received.subject == "Re: Printer on fire [#1]")
        #expect(received.header("Auto-Submitted") == "auto-replied")
        #expect(received.inReplyTo == [first])
        #expect(try await s.f.query(tenant) { try StreamQueries.streamKinds($0, tenant: tenant, record: supportCase) }.last == "email_sent")
    }

    @Test func mailroomSendCaseRepliesOnTheCaseFromItsAccount() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "reply-cli")
        let customer = try s.f.server.createMailbox(prefix: "reply-cli-cust")
        let first = "cli-\(UUID().uuidString)@customer.test"
        try s.f.server.deliverToMaildir(support, messages: [TestMessages.plain(
            id: first, subject: "Invoice wrong", from: "Carla Customer <\(customer.address)>", to: support.address)])
        let (tenant, slug) = try await s.f.tenant("reply-cli", accounts: [supportAccount(s, support)])
        _ = try await s.f.importAll(tenant, runner: s.f.caseRunner())
        let supportCase = try #require(try await s.f.parent(tenant, first))
        let body = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-case-reply-\(UUID().uuidString).txt")
        try Data("Corrected invoice attached.\n".utf8).write(to: body)
        defer { try? FileManager.default.removeItem(at: body) }

        // alice is in the account's team with no role: refused; bob as an admin: queued.
        try await s.f.query(tenant) { try $0.execute("UPDATE app_user SET is_admin = true WHERE username = 'bob'") }
        let refused = try await MailroomBinary.run(["send", "--tenant", slug, "--case", "1", "--as", "alice", "--subject", "Re: Invoice wrong",
                                              "--body", body.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("may not send from mail account"), "\(refused.stderr)")
        let missing = try await MailroomBinary.run(["send", "--tenant", slug, "--case", "7", "--as", "bob", "--subject", "x"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no case #7"), "\(missing.stderr)")

        let run = try await MailroomBinary.run(["send", "--tenant", slug, "--case", "1", "--as", "bob", "--subject", "Re: Invoice wrong",
                                          "--body", body.path])
        #expect(run.status == 0, "\(run.stderr)")
        let id = EmailID(try #require(Int64(run.stdout.replacingOccurrences(of: "queued email ", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines))))
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, id).status == "Sent")
        #expect(try await s.waitForMessages(customer, count: 1))
        let received = try #require(try await inbox(s, customer).first)
        #expect(received.subject == "Re: [#1] Invoice wrong")
        #expect(received.from.map(\.address) == [support.address])
        #expect(received.inReplyTo == [first])
        #expect(RecordTokenSigner(master: s.f.key, tenant: tenant).verify(try #require(received.messageID))?.id == supportCase.id)
    }
}
