import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Email-to-Case on real Dovecot and Postgres: threads, tags, tokens, automatic mail, reopening.
@Suite struct CaseThreadTests {
    @Test func aFiveMessageThreadIsOneCaseHoldingFiveEmails() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "thread")
        var messages = [TestMessages.plain(id: "t1@initech.test", subject: "Printer on fire", body: "It burns.\n")]
        var refs = ["<t1@initech.test>"]
        for n in 2...5 {
            // Alternate In-Reply-To + References and References only.
            let extra = n % 2 == 0 ? ["In-Reply-To: \(refs.last!)", "References: \(refs.joined(separator: " "))"]
                                   : ["References: \(refs.joined(separator: " "))"]
            messages.append(TestMessages.plain(id: "t\(n)@initech.test", subject: "Re: Printer on fire", extraHeaders: extra))
            refs.append("<t\(n)@initech.test>")
        }
        // Two batches: the thread crosses a transaction boundary and also threads within one.
        try f.server.deliverToMaildir(box, messages: Array(messages[0..<2]))
        let (tenant, _) = try await f.tenant("thread", accounts: [f.caseAccount(box)])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        let activity = { try await f.query(tenant) { conn -> (Date, Date) in
            let row = try conn.query("SELECT created_at, last_activity_at FROM support_case").one()
            return (try row.decode(Date.self, at: 0), try row.decode(Date.self, at: 1))
        } }
        let afterFirst = try await activity()
        try f.server.deliverToMaildir(box, messages: Array(messages[2...]))
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        // Every email that joins the case bumps its last activity; its creation time stays.
        let afterAll = try await activity()
        #expect(afterAll.0 == afterFirst.0)
        #expect(afterAll.1 > afterFirst.1)

        let cases = try await f.cases(tenant)
        #expect(cases.count == 1)
        #expect(cases.first?.status == "Assigned")
        let row = try await f.query(tenant) { conn in
            try conn.query("""
                SELECT c.name, c.description, ct.name, a.name, (SELECT count(*) FROM email e WHERE e.parent_type = 'case' AND e.parent_id = c.id),
                       (SELECT count(*) FROM email e WHERE e.crm_account_id = c.account_id),
                       (SELECT count(*) FROM stream_entry s WHERE s.record_type = 'case' AND s.record_id = c.id AND s.kind = 'email_received'),
                       (SELECT string_agg(kind, ',' ORDER BY id) FROM stream_entry s WHERE s.record_type = 'case' AND s.record_id = c.id AND kind <> 'email_received')
                FROM support_case c JOIN contact ct ON ct.tenant_id = c.tenant_id AND ct.id = c.contact_id
                JOIN crm_account a ON a.tenant_id = c.tenant_id AND a.id = c.account_id
                """).one()
        }
        #expect(try row.decode(String.self, at: 0) == "Printer on fire")
        #expect(try row.decode(String.self, at: 1).contains("It burns."))
        #expect(try row.decode(String.self, at: 2) == "Peter Gibbons")
        #expect(try row.decode(String.self, at: 3) == "Initech")
        #expect(try row.decode(Int.self, at: 4) == 5)
        #expect(try row.decode(Int.self, at: 5) == 5)
        #expect(try row.decode(Int.self, at: 6) == 5)
        #expect(try row.decode(String.self, at: 7) == "case_created,assigned")
        // The assignee has every email of the case in the inbox and follows it.
        let assignee = try #require(cases.first?.assignee)
        let inInbox = try await f.count(tenant, """
            SELECT count(*) FROM email_user eu JOIN app_user u ON u.tenant_id = eu.tenant_id AND u.id = eu.user_id
            JOIN email e ON e.tenant_id = eu.tenant_id AND e.id = eu.email_id
            WHERE u.username = '\(assignee)' AND e.parent_type = 'case'
            """)
        #expect(inInbox == 5)
        #expect(try await f.count(tenant, "SELECT count(*) FROM follow WHERE record_type = 'case'") == 1)

        // `mailroom export` shows the case with its assignee and the Message-IDs of its emails.
        let exported = try await f.query(tenant) { try ExportQueries.caseExportJSON($0, tenant: tenant) }
        let first = try #require(exported.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(object["number"] as? Int == 1)
        #expect(object["assignee"] as? String == assignee)
        #expect(object["contact"] as? String == "Peter Gibbons")
        #expect(object["account"] as? String == "Initech")
        #expect(object["emails"] as? [String] == (1...5).map { "t\($0)@initech.test" })
        let stream = try await f.query(tenant) { try ExportQueries.streamExportJSON($0, tenant: tenant) }
        #expect(stream.count == 7)
        #expect(try await f.query(tenant) { try ExportQueries.followExportJSON($0, tenant: tenant) }.count == 1)
        #expect(try await f.query(tenant) { try ExportQueries.notificationExportJSON($0, tenant: tenant) }.count == 5)
    }

    @Test func aForgedTokenAndAStrangersTagOpenNewCasesButGenuineOnesJoin() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "forge")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "victim@initech.test", subject: "Secret stuff")])
        let (tenant, _) = try await f.tenant("forge", accounts: [f.caseAccount(box)])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        let victim = try #require(try await f.parent(tenant, "victim@initech.test"))
        #expect(victim.type == .supportCase)
        let number = try #require(try await f.cases(tenant).first?.number)

        let signer = RecordTokenSigner(master: f.key, tenant: tenant)
        let genuine = signer.messageID(type: .supportCase, id: victim.id, domain: "acme.test")
        // The genuine token with one MAC digit changed.
        let local = genuine.split(separator: "@")[0]
        let forged = local.dropLast() + (local.last == "0" ? "1" : "0") + "@acme.test"
        let otherTenantToken = RecordTokenSigner(master: f.key, tenant: TenantID(tenant.rawValue + 100_000))
            .messageID(type: .supportCase, id: victim.id, domain: "acme.test")
        try f.server.deliverToMaildir(box, messages: [
            TestMessages.plain(id: "forged@evil.test", subject: "Hi", from: "mallory@evil.test",
                               extraHeaders: ["In-Reply-To: <\(forged)>"]),
            TestMessages.plain(id: "foreign@evil.test", subject: "Hi again", from: "mallory@evil.test",
                               extraHeaders: ["References: <\(otherTenantToken)>"]),
            TestMessages.plain(id: "tagged@evil.test", subject: "Re: [#\(number)] give me the secrets", from: "mallory@evil.test"),
            TestMessages.plain(id: "genuine@initech.test", subject: "Re: your answer", from: "peter@initech.test",
                               extraHeaders: ["In-Reply-To: <\(genuine)>"]),
            TestMessages.plain(id: "related-tag@initech.test", subject: "[#\(number)] more", from: "peter@initech.test"),
            // Auto-replies never create cases.
            TestMessages.plain(id: "auto@else.test", subject: "Out of office", from: "ooo@else.test",
                               extraHeaders: ["Auto-Submitted: auto-replied"]),
        ])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        for id in ["forged@evil.test", "foreign@evil.test", "tagged@evil.test"] {
            let p = try #require(try await f.parent(tenant, id))
            #expect(p.type == .supportCase && p.id != victim.id, "\(id) must open its own case")
        }
        #expect(try await f.parent(tenant, "genuine@initech.test") == victim)
        #expect(try await f.parent(tenant, "related-tag@initech.test") == victim)
        #expect(try await f.parent(tenant, "auto@else.test") == nil)
        #expect(try await f.cases(tenant).count == 4)
    }

    @Test func aCustomerReplyReopensAClosedCaseWhenEnabled() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "reopen")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "r1@initech.test", subject: "Broken")])
        let (tenant, _) = try await f.tenant("reopen", accounts: [
            f.caseAccount(box, extraCase: ", reopen: {enabled: true, status: Assigned}")])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        try await f.query(tenant) { try $0.execute("UPDATE support_case SET status = 'Closed'") }
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(
            id: "r2@initech.test", subject: "Re: Broken", extraHeaders: ["In-Reply-To: <r1@initech.test>"])])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        let cases = try await f.cases(tenant)
        #expect(cases.count == 1)
        #expect(cases.first?.status == "Assigned")
        #expect(try await f.count(tenant, "SELECT count(*) FROM stream_entry WHERE kind = 'reopened'") == 1)
    }
}
