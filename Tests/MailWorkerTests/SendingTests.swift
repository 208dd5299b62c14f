import Foundation
import MailCore
import MailMIME
@testable import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// Sending against the real Postgres, Postfix and Dovecot.
@Suite struct SendingTests {
    @Test func submitsThroughPostfixAndTheMessageArrives() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "send-support")
        let customer = try s.f.server.createMailbox(prefix: "send-customer")
        let tenant = try await s.tenant("send-ok", accounts: [s.account("Support", support)])
        let alice = try await s.user(tenant, "alice"), account = try await s.accountID(tenant, "Support")
        let id = try await s.queue(tenant, EmailDraft(account: account, user: alice, to: [customer.address], bcc: ["bob@acme.test"],
                                                      subject: "Your ticket – übersicht", text: "Hello\n.\nBye", html: "<p>Hello</p>",
                                                      attachments: [.init(filename: "a.txt", contentType: "text/plain", data: Array("x".utf8))]))
        #expect(try await s.status(tenant, id).status == "Sending")
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, id).status == "Sent")
        #expect(try await s.waitForMessages(customer, count: 1))

        let imap = try await IMAPConnection(endpoint: s.f.server.endpoint(for: customer))
        defer { imap.close() }
        let uids = try await imap.run { try $0.searchUIDs("INBOX", after: nil) }
        let raw = try await imap.run { try $0.fetchMessage("INBOX", uid: uids[0]) }
        let parsed = try MIMEParser.parse(raw)
        let messageID: String = try await s.f.query(tenant) { try $0.query("SELECT message_id FROM email WHERE id = \(id)").one().decode(at: 0) }
        #expect(parsed.messageID == messageID)
        #expect(parsed.subject == "Your ticket – übersicht")
        #expect(parsed.from.map(\.address) == [support.address])
        #expect(parsed.textBody?.replacingOccurrences(of: "\r\n", with: "\n") == "Hello\n.\nBye")
        #expect(parsed.attachments.map(\.filename) == ["a.txt"])
        #expect(parsed.header("Bcc") == nil)
        // A second run finds nothing queued: submitted once.
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try s.f.server.messageCount(customer) == 1)
    }

    @Test func permanentRefusalFailsAtOnce() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "send-5xx")
        // Submission without AUTH: Postfix answers RCPT TO with 554 5.7.1 (client rejected).
        let (tenant, id) = try await s.tenantWithRefusedEmail("send-5xx", support)
        #expect(try await s.runSends(tenant).isEmpty, "a permanent failure ends the job without a retry")
        let (status, error) = try await s.status(tenant, id)
        #expect(status == "Failed")
        #expect(error?.contains("554") == true)
        #expect(error?.contains(support.password) == false)
    }

    @Test func closedPortIsTemporaryAndAlertsOncePerDay() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "send-down")
        let tenant = try await s.tenant("send-down", accounts: [s.account("Support", support, smtpPort: 1)])
        let account = try await s.accountID(tenant, "Support"), alice = try await s.user(tenant, "alice")
        let id = try await s.queue(tenant, EmailDraft(account: account, user: alice, to: ["c@test.local"], subject: "x", text: "y"))
        // alice is the tenant's admin (see the fixture), bob a user of the account's team: a group
        // account's SMTP failure alerts admins only.
        func alerts() async throws -> [UserID] {
            try await s.f.query(tenant) { try NotificationQueries.notificationList($0, tenant: tenant) }.filter { $0.kind == "smtp_failure" }.map(\.userID)
        }
        let errors = try await s.runSends(tenant, attempt: 1, maxAttempts: 3)
        #expect(errors.count == 1, "a temporary failure is thrown so the job retries with backoff")
        #expect(try await s.status(tenant, id).status == "Sending")
        func health() async throws -> (String?, Date?) {
            try await s.f.query(tenant) { conn in
                let r = try conn.query("SELECT smtp_last_error, smtp_alerted_at FROM mail_account WHERE id = \(account)").one()
                return (try r.decode(at: 0), try r.decode(at: 1))
            }
        }
        let (lastError, alertedAt) = try await health()
        #expect(lastError?.contains("connectFailed") == true)
        #expect(alertedAt != nil)
        #expect(try await alerts() == [alice])
        // The last attempt fails the email; the alert is not repeated within the day.
        try await s.f.query(tenant) { try $0.execute("UPDATE job SET state = 'ready' WHERE tenant_id = \(tenant) AND kind = 'send'") }
        #expect(try await s.runSends(tenant, attempt: 3, maxAttempts: 3).isEmpty)
        #expect(try await s.status(tenant, id).status == "Failed")
        #expect(try await health().1 == alertedAt)
        #expect(try await alerts() == [alice], "one alert a day per account")
        let failing = try await s.f.query(tenant) { try MailAccountQueries.mailAccountListSMTPFailing($0, tenant: tenant) }
        #expect(failing.map(\.accountID) == [account])
    }

    @Test func invalidInputIsRefusedAndNothingIsQueued() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "send-invalid")
        let tenant = try await s.tenant("send-invalid", accounts: [s.account("Support", support)])
        let account = try await s.accountID(tenant, "Support"), alice = try await s.user(tenant, "alice")
        try await s.f.query(tenant) { try $0.execute("UPDATE mail_account SET max_message_size = 1000 WHERE id = \(account)") }
        let drafts: [(EmailDraft, String)] = [
            (EmailDraft(account: account, user: alice, to: ["c@test.local"], subject: "Hi\r\nBcc: victim@test.local", text: "x"), "line break"),
            (EmailDraft(account: account, user: alice, to: ["c@test.local"], subject: "Hi\nX: y", text: "x"), "line break"),
            (EmailDraft(account: account, user: alice, to: ["not an address"], subject: "Hi", text: "x"), "invalid recipient"),
            (EmailDraft(account: account, user: alice, to: ["c@test.local"], cc: ["x@y"], subject: "Hi", text: "x"), "invalid recipient"),
            (EmailDraft(account: account, user: alice, to: ["c@test.local\r\nRCPT TO:<v@test.local>"], subject: "Hi", text: "x"), "invalid recipient"),
            (EmailDraft(account: account, user: alice, to: [], subject: "Hi", text: "x"), "no recipient"),
            (EmailDraft(account: account, user: alice, to: ["c@test.local"], subject: "Hi", text: "x",
                        attachments: [.init(filename: "big.bin", contentType: "application/octet-stream", data: Array(repeating: 1, count: 2000))]),
             "exceed the limit"),
            (EmailDraft(account: account, user: alice, to: ["c@test.local"], subject: "Hi", text: "x",
                        attachments: [.init(filename: "a\r\nb.txt", contentType: "text/plain", data: [1])]), "line break"),
        ]
        for (draft, expected) in drafts {
            do {
                _ = try await s.queue(tenant, draft)
                Issue.record("queued: \(expected)")
            } catch let e as PostgresError {
                #expect(e.sqlState == "22023")
                #expect(e.message.contains(expected), "\(e.message)")
            }
        }
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email") == 0)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM job WHERE kind = 'send' AND tenant_id = \(tenant)") == 0)
    }

    @Test func storeSentAppendsAndIsNeverImportedAsNew() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "send-sent")
        let customer = try s.f.server.createMailbox(prefix: "send-sent-cust")
        try s.f.server.createFolder(support, folder: "Sent")
        let tenant = try await s.tenant("send-sent", accounts: [s.account("Support", support, smtpExtra: ", store_sent: true",
                                                                          imapExtra: ["sent_folder: Sent", "folders: [INBOX, Sent]"])])
        let id = try await s.queue(tenant, EmailDraft(account: try await s.accountID(tenant, "Support"), user: try await s.user(tenant, "alice"),
                                                      to: [customer.address], subject: "Stored", text: "copy"))
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, id).status == "Sent")
        #expect(try s.f.server.messageCount(support, folder: "Sent") == 1)
        let reports = try await s.f.importAll(tenant)
        #expect(reports.reduce(0) { $0 + $1.imported } == 0)
        #expect(reports.reduce(0) { $0 + $1.linkedExisting } == 1)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email") == 1)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email_account_link WHERE folder_id IS NOT NULL") == 1)
    }

    /// With a session cache (as the long-running worker has), storing sent mail uses the poller's
    /// kept connection instead of logging in again, and the poll after it still works on it.
    @Test func storeSentReusesThePollersKeptConnection() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "send-kept")
        let customer = try s.f.server.createMailbox(prefix: "send-kept-cust")
        try s.f.server.createFolder(support, folder: "Sent")
        let tenant = try await s.tenant("send-kept", accounts: [s.account("Support", support, smtpExtra: ", store_sent: true",
                                                                          imapExtra: ["sent_folder: Sent", "folders: [INBOX, Sent]"])])
        let sessions = IMAPSessionCache()
        let base = s.f.caseRunner()
        let runner = ImportRunner(pool: base.pool, secrets: base.secrets, settings: base.settings, logger: base.logger, sessions: sessions)
        let handler = SendJobHandler(pool: s.f.pool, secrets: base.secrets, importer: runner,
                                     connections: SMTPConnectionCache(), logger: base.logger)
        _ = try await s.f.importAll(tenant, runner: runner)
        #expect(sessions.stats.opened == 1 && sessions.stats.idle == 1, "the poll kept its connection")

        let id = try await s.queue(tenant, EmailDraft(account: try await s.accountID(tenant, "Support"), user: try await s.user(tenant, "alice"),
                                                      to: [customer.address], subject: "Kept", text: "copy"))
        let job = try await s.f.query(tenant) { conn in
            let row = try conn.query("SELECT id, payload::text FROM job WHERE tenant_id = \(tenant) AND kind = 'send' AND state = 'ready'").one()
            return (try row.decode(Int64.self, at: 0), try row.decode(String.self, at: 1))
        }
        try await handler.handle(Job(id: job.0, tenantID: tenant, kind: "send", payload: job.1, attempt: 1, maxAttempts: 3,
                                     leaseEpoch: 1, isPeriodic: false))
        #expect(try await s.status(tenant, id).status == "Sent")
        #expect(try s.f.server.messageCount(support, folder: "Sent") == 1)
        #expect(sessions.stats.opened == 1, "the append logged in no second time")
        #expect(sessions.stats.reused >= 1)

        let reports = try await s.f.importAll(tenant, runner: runner)
        #expect(reports.allSatisfy { $0.error == nil })
        #expect(reports.reduce(0) { $0 + $1.linkedExisting } == 1, "the stored copy is linked, not imported again")
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email") == 1)
    }
}
