import Foundation
import MailCore
import MailProvisioning
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Filters of every scope and action, applied by the importer against the real Dovecot and Postgres.
@Suite struct FilterImportTests {
    @Test func globalSkipOnASenderDomainSkipsInEveryAccount() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "gskip", filters: [
            #"{name: spam, from: "*@spam.test", action: skip}"#,
        ])
        try f.server.deliverToMaildir(t.group, messages: [
            TestMessages.plain(id: "s-1@spam.test", subject: "Win", from: "Bulk <bulk@spam.test>"),
            TestMessages.plain(id: "ok-1@initech.test", subject: "Real"),
        ])
        try f.server.deliverToMaildir(t.personal, messages: [
            TestMessages.plain(id: "s-2@spam.test", subject: "Win again", from: "x@SPAM.test", to: "alice@acme.test"),
        ])
        let reports = try await f.importAll(t.id)
        #expect(reports.allSatisfy { $0.error == nil })
        #expect(reports.reduce(0) { $0 + $1.skipped } == 2)
        let stored = try await f.query(t.id) { try $0.query("SELECT message_id FROM email").map { try $0.decode(String.self, at: 0) } }
        #expect(stored == ["ok-1@initech.test"])
        // Counted on the folders, and the cursors passed the skipped messages.
        #expect(try await f.count(t.id, "SELECT sum(messages_skipped)::int FROM mail_folder") == 2)
        #expect(try await f.count(t.id, "SELECT count(*) FROM mail_folder WHERE name = 'INBOX' AND last_uid <> uidnext - 1") == 0)
        let status = try await f.query(t.id) { try FolderStatusQueries.folderStatusList($0, tenant: t.id) }
        #expect(status.map(\.messagesSkipped).reduce(0, +) == 2)
        #expect(status.contains { $0.kind == "personal" && $0.owner == "alice" })
        // A second poll finds nothing new: nothing vanishes, nothing comes back.
        let again = try await f.importAll(t.id)
        #expect(again.reduce(0) { $0 + $1.skipped + $1.imported } == 0)
    }

    @Test func accountFolderWithNonASCIISubjectWildcardAndHeaderAndBodyRules() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "acct", filters: [
            #"{name: complaints, account: Support, subject: "*ärger*", action: folder, folder: complaints}"#,
            #"{name: newsletters, account: Support, header: {name: list-id, value: "*<news.example.test>"}, action: skip}"#,
            #"{name: lottery, body_all: [lottery, winner], action: skip}"#,
        ])
        let html = TestMessages.crlf("""
            From: Lotto <info@lotto.test>
            To: support@acme.test
            Subject: Congratulations
            Message-ID: <lotto-1@lotto.test>
            MIME-Version: 1.0
            Content-Type: text/html; charset=utf-8

            <html><body><p>You are the <b>WINNER</b> of our</p><div>LOTTERY!</div></body></html>
            """)
        try f.server.deliverToMaildir(t.group, messages: [
            TestMessages.plain(id: "c-1@initech.test", subject: "=?utf-8?q?GRO=C3=9FER_=C3=84RGER_mit_der_Lieferung?="),
            TestMessages.plain(id: "n-1@news.example.test", subject: "Weekly", extraHeaders: ["List-Id: Example News <news.example.test>"]),
            html,
            TestMessages.plain(id: "w-1@initech.test", subject: "Only a winner", body: "winner, but no draw\n"),
        ])
        let reports = try await f.importAll(t.id)
        #expect(reports.allSatisfy { $0.error == nil })
        #expect(reports.reduce(0) { $0 + $1.skipped } == 2)
        let stored = try await f.query(t.id) { try $0.query("SELECT message_id FROM email ORDER BY 1").map { try $0.decode(String.self, at: 0) } }
        #expect(stored == ["c-1@initech.test", "w-1@initech.test"])
        let groupFolder = try await f.query(t.id) { conn in
            try conn.query("SELECT l.group_folder FROM email_account_link l JOIN email e ON e.id = l.email_id AND e.tenant_id = l.tenant_id WHERE e.message_id = 'c-1@initech.test'").one().decode(String?.self, at: 0)
        }
        #expect(groupFolder == "complaints")
        #expect(try await f.userCopy(t.id, messageID: "c-1@initech.test", user: "bob")?.folder == "complaints")
        #expect(try await f.userCopy(t.id, messageID: "w-1@initech.test", user: "bob")?.folder == "inbox")
    }

    @Test func userFiltersActOnlyOnTheirUsersCopy() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "user", filters: [
            #"{name: bob-billing, user: bob, subject: "*invoice*", action: folder, folder: billing}"#,
            #"{name: bob-read, user: bob, from: "peter@*", action: mark_read}"#,
            #"{name: alice-quiet, user: alice, to: "bob@acme.test", action: no_notify}"#,
            #"{name: alice-trash, user: alice, subject: "*lunch*", action: skip}"#,
        ])
        try f.server.deliverToMaildir(t.group, messages: [
            TestMessages.plain(id: "inv-1@initech.test", subject: "Invoice 42", cc: "bob@acme.test"),
            TestMessages.plain(id: "lunch-1@x.test", subject: "Lunch?", from: "Joe <joe@x.test>"),
        ])
        let reports = try await f.importAll(t.id)
        #expect(reports.allSatisfy { $0.error == nil })
        #expect(reports.reduce(0) { $0 + $1.imported } == 2)
        let bobInvoice = try await f.userCopy(t.id, messageID: "inv-1@initech.test", user: "bob")
        #expect(bobInvoice?.folder == "billing" && bobInvoice?.read == true && bobInvoice?.notify == true)
        let aliceInvoice = try await f.userCopy(t.id, messageID: "inv-1@initech.test", user: "alice")
        #expect(aliceInvoice?.folder == "inbox" && aliceInvoice?.read == false && aliceInvoice?.notify == false)
        // A user skip trashes only that user's copy.
        #expect(try await f.userCopy(t.id, messageID: "lunch-1@x.test", user: "alice")?.trash == true)
        #expect(try await f.userCopy(t.id, messageID: "lunch-1@x.test", user: "bob")?.trash == false)
    }

    @Test func aFilterAddedBySQLAppliesToTheNextPoll() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "sqlf", personal: false)
        try f.server.deliverToMaildir(t.group, messages: [TestMessages.plain(id: "p-1@promo.test", subject: "Promo 1", from: "ads@promo.test")])
        _ = try await f.importAll(t.id)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email") == 1)

        try await f.query(t.id) { conn in
            try conn.execute("""
                INSERT INTO email_filter (tenant_id, name, scope, from_pattern, action)
                VALUES (\(t.id), 'promo', 'global', '*@promo.test', 'skip')
                """)
        }
        try f.server.deliverToMaildir(t.group, messages: [TestMessages.plain(id: "p-2@promo.test", subject: "Promo 2", from: "ads@promo.test")])
        let reports = try await f.importAll(t.id)
        #expect(reports.reduce(0) { $0 + $1.skipped } == 1)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email") == 1)
        #expect(try await f.count(t.id, "SELECT last_uid::int FROM mail_folder") == 2)
    }

    @Test func aFilterWithoutCriteriaIsRefused() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "nocrit", personal: false)
        let error = await #expect(throws: PostgresError.self) {
            try await f.query(t.id) { conn in
                try conn.execute("INSERT INTO email_filter (tenant_id, name, scope, action) VALUES (\(t.id), 'everything', 'global', 'skip')")
            }
        }
        #expect(error?.message.contains("has no criteria") == true)
        let yaml = """
            tenant: nocrit
            filters: [{name: everything, action: skip}]
            """
        guard case .failure(let errors) = ManifestParser.check(yaml, environment: [:]) else {
            Issue.record("a filter without criteria must be refused")
            return
        }
        #expect("\(errors)".contains("has no criteria"))
    }
}
