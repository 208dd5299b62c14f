import Foundation
import MailCore
import MailProvisioning
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Personal accounts against the real Dovecot and Postgres: one email for many users, the folder
/// map, the cap, and deactivated owners.
@Suite struct PersonalAccountTests {
    @Test func oneEmailReachingTwoMailboxesHasOneRowPerUser() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "many")
        let mail = TestMessages.plain(id: "order-17@initech.test", subject: "Order 17",
                                      to: "support@acme.test, alice@acme.test", cc: "Bob Baker <bob@acme.test>")
        try f.server.deliverToMaildir(t.group, messages: [mail])
        try f.server.deliverToMaildir(t.personal, messages: [mail])

        let reports = try await f.importAll(t.id)
        #expect(reports.allSatisfy { $0.error == nil })
        #expect(reports.reduce(0) { $0 + $1.imported } == 1)
        #expect(reports.reduce(0) { $0 + $1.linkedExisting } == 1)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email") == 1)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email_account_link") == 2)
        let users = try await f.query(t.id) { conn in
            try conn.query("SELECT u.username FROM email_user eu JOIN app_user u ON u.tenant_id = eu.tenant_id AND u.id = eu.user_id ORDER BY 1")
                .map { try $0.decode(String.self, at: 0) }
        }
        #expect(users == ["alice", "bob"])
        // The group account's team, and alice's default team (her first: support) — once each.
        let teams = try await f.query(t.id) { conn in
            try conn.query("SELECT t.name FROM email_team et JOIN team t ON t.tenant_id = et.tenant_id AND t.id = et.team_id ORDER BY 1")
                .map { try $0.decode(String.self, at: 0) }
        }
        #expect(teams == ["support"])

        // Read flags are per user.
        try await f.query(t.id) { conn in
            try conn.execute("""
                UPDATE email_user SET is_read = true
                WHERE user_id = (SELECT id FROM app_user WHERE username = 'alice')
                """)
        }
        #expect(try await f.userCopy(t.id, messageID: "order-17@initech.test", user: "alice")?.read == true)
        #expect(try await f.userCopy(t.id, messageID: "order-17@initech.test", user: "bob")?.read == false)
        #expect(try await f.userCopy(t.id, messageID: "order-17@initech.test", user: "alice")?.folder == "inbox")
    }

    @Test func personalMailIsSharedWithTheOwnersDefaultTeam() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "ownteam")
        try f.server.deliverToMaildir(t.personal, messages: [
            TestMessages.plain(id: "private-1@home.test", subject: "Dinner", from: "Mum <mum@home.test>", to: "alice@acme.test"),
        ])
        _ = try await f.importAll(t.id)
        let copy = try await f.userCopy(t.id, messageID: "private-1@home.test", user: "alice")
        #expect(copy?.folder == "inbox" && copy?.read == false)
        #expect(try await f.userCopy(t.id, messageID: "private-1@home.test", user: "bob") == nil)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email_team et JOIN team t ON t.id = et.team_id AND t.tenant_id = et.tenant_id WHERE t.name = 'support'") == 1)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email_team") == 1)
    }

    @Test func aMessageInTheSentFolderIsFiledAsSentByItsOwner() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "sent")
        // Sent from an address Mailroom does not know as alice's: only the folder map says it is hers.
        try f.server.deliverToMaildir(t.personal, folder: "Sent", messages: [
            TestMessages.plain(id: "quote-9@acme.test", subject: "Your quote", from: "Alice <alice.archer@home.test>",
                               to: "peter@initech.test"),
        ])
        let reports = try await f.importAll(t.id)
        #expect(reports.allSatisfy { $0.error == nil })
        let status = try await f.query(t.id) { try $0.query("SELECT status FROM email WHERE message_id = 'quote-9@acme.test'").one().decode(String.self, at: 0) }
        #expect(status == "Sent")
        let copy = try await f.userCopy(t.id, messageID: "quote-9@acme.test", user: "alice")
        #expect(copy?.folder == "sent")
        #expect(copy?.read == true)
    }

    @Test func deactivatedOwnerIsNotPolledAndResumesWithoutDuplicates() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "deact")
        try f.server.deliverToMaildir(t.personal, messages: [TestMessages.plain(id: "d-1@x.test", subject: "one", to: "alice@acme.test")])
        _ = try await f.importAll(t.id)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email") == 1)

        try await f.query(t.id) { try $0.execute("UPDATE app_user SET is_active = false WHERE username = 'alice'") }
        try f.server.deliverToMaildir(t.personal, messages: [TestMessages.plain(id: "d-2@x.test", subject: "two", to: "alice@acme.test")])
        let personalID = try await f.query(t.id) { try $0.query("SELECT id FROM mail_account WHERE kind = 'personal'").one().decode(AccountID.self, at: 0) }
        let pollable = try await f.query(t.id) { try MailAccountQueries.mailAccountListPollable($0, tenant: t.id).map(\.name) }
        #expect(pollable == ["Support"])
        #expect(try await f.query(t.id) { try MailAccountQueries.mailAccountGetPollable($0, tenant: t.id, id: personalID) } == nil)
        // The scheduler drops the personal account's polls.
        _ = try await f.query(t.id) { try PollScheduleQueries.pollScheduleReconcile($0, tenant: t.id) }
        #expect(try await f.count(t.id, "SELECT count(*) FROM job WHERE tenant_id = \(t.id) AND kind = 'poll' AND payload->>'account' = '\(personalID)'") == 0)
        let polls = try await f.count(t.id, "SELECT count(*) FROM job WHERE tenant_id = \(t.id) AND kind = 'poll'")
        #expect(polls == 1)
        _ = try await f.importAll(t.id)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email") == 1)

        try await f.query(t.id) { try $0.execute("UPDATE app_user SET is_active = true WHERE username = 'alice'") }
        _ = try await f.query(t.id) { try PollScheduleQueries.pollScheduleReconcile($0, tenant: t.id) }
        #expect(try await f.count(t.id, "SELECT count(*) FROM job WHERE tenant_id = \(t.id) AND kind = 'poll' AND payload->>'account' = '\(personalID)'") == 2)
        let reports = try await f.importAll(t.id)
        #expect(reports.reduce(0) { $0 + $1.imported } == 1)
        #expect(reports.reduce(0) { $0 + $1.linkedExisting } == 0)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email") == 2)
        #expect(try await f.count(t.id, "SELECT count(*) FROM email_account_link") == 2)
    }

    @Test func theDatabaseAndTheManifestEnforceThePersonalAccountCap() async throws {
        let f = try await WorkerFixture.make()
        let t = try await InboxTenant.make(f, prefix: "cap")
        try await f.query(t.id) { conn in
            try conn.execute("""
                INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address)
                SELECT tenant_id, 'personal', id, 'Alice second', 'alice2@acme.test' FROM app_user WHERE username = 'alice'
                """)
        }
        let error = await #expect(throws: PostgresError.self) {
            try await f.query(t.id) { conn in
                try conn.execute("""
                    INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address)
                    SELECT tenant_id, 'personal', id, 'Alice third', 'alice3@acme.test' FROM app_user WHERE username = 'alice'
                    """)
            }
        }
        #expect(error?.message.contains("the tenant allows at most 2") == true)

        let yaml = """
            tenant: {slug: capped, settings: {max_personal_accounts: 1}}
            users: [{username: alice}]
            personal_accounts:
              - {name: A, owner: alice, address: a@x.test, imap: {host: 127.0.0.1, password: pw}}
              - {name: B, owner: alice, address: b@x.test, imap: {host: 127.0.0.1, password: pw}}
            """
        guard case .failure(let errors) = ManifestParser.check(yaml, environment: [:]) else {
            Issue.record("a second personal account over the cap must be refused")
            return
        }
        #expect("\(errors)".contains("personal_accounts[1].owner"))
        #expect("\(errors)".contains("more than 1 personal account"))
    }
}
