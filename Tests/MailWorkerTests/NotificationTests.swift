import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Followers of a record and of its account are notified once per email, never the sender, and
/// whether or not they were addressed.
@Suite struct NotificationTests {
    @Test func eachFollowerOnceNeverTheSenderAndOnlyWhoCanSee() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "notify")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "n1@initech.test", subject: "Help")])
        let (tenant, _) = try await f.tenant("notify", accounts: [f.caseAccount(box, distribution: "direct")])
        let outsider = try await f.query(tenant) { conn -> UserID in
            // A user outside the case's team: follows the account but cannot see the case.
            try conn.query("INSERT INTO app_user (tenant_id, username, name) VALUES (\(tenant), 'olga', 'Olga') RETURNING id").one().decode(at: 0)
        }
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        let alice = try await f.userID(tenant, "alice"), bob = try await f.userID(tenant, "bob")
        let supportCase = try #require(try await f.parent(tenant, "n1@initech.test"))
        let account = try await f.query(tenant) { try $0.query("SELECT id FROM crm_account WHERE name = 'Initech'").one().decode(Int64.self, at: 0) }
        // alice follows as assignee; bob follows both the case and its account; olga the account only.
        try await f.query(tenant) { conn in
            try FollowQueries.followAdd(conn, tenant: tenant, user: bob, record: supportCase)
            try FollowQueries.followAdd(conn, tenant: tenant, user: bob, record: RecordRef(.account, account))
            try FollowQueries.followAdd(conn, tenant: tenant, user: outsider, record: RecordRef(.account, account))
        }
        #expect(try await f.query(tenant) { try FollowQueries.followList($0, tenant: tenant, record: supportCase) } == [alice, bob].sorted())
        // The first email created the case: its assignee was notified; bob did not follow yet.
        var list = try await f.query(tenant) { try NotificationQueries.notificationList($0, tenant: tenant) }
        #expect(list.map(\.userID) == [alice])

        try f.server.deliverToMaildir(box, messages: [
            // From the customer, addressed to nobody of the team.
            TestMessages.plain(id: "n2@initech.test", subject: "Re: Help", to: "support@acme.test",
                               extraHeaders: ["In-Reply-To: <n1@initech.test>"]),
            // From alice herself (cc bob): alice is the sender, bob is notified once.
            TestMessages.plain(id: "n3@acme.test", subject: "Re: Help", from: "Alice Archer <alice@acme.test>",
                               to: "peter@initech.test", cc: "bob@acme.test", extraHeaders: ["In-Reply-To: <n2@initech.test>"]),
        ])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        list = try await f.query(tenant) { try NotificationQueries.notificationList($0, tenant: tenant) }
        let n2 = try await f.query(tenant) { try $0.query("SELECT id FROM email WHERE message_id = 'n2@initech.test'").one().decode(EmailID.self, at: 0) }
        let n3 = try await f.query(tenant) { try $0.query("SELECT id FROM email WHERE message_id = 'n3@acme.test'").one().decode(EmailID.self, at: 0) }
        #expect(Set(list.filter { $0.emailID == n2 }.map(\.userID)) == [alice, bob])
        #expect(list.filter { $0.emailID == n2 }.count == 2)
        #expect(list.filter { $0.emailID == n3 }.map(\.userID) == [bob])
        #expect(!list.contains { $0.userID == outsider })
        #expect(list.allSatisfy { $0.kind == "email_received" })
    }

    /// A follower's own "don't notify" filter suppresses only that follower's notification.
    @Test func aUsersDontNotifyFilterSuppressesOnlyTheirNotification() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "quiet")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "q1@initech.test", subject: "Printer")])
        let (tenant, _) = try await f.tenant("quiet", accounts: [f.caseAccount(box, distribution: "direct")])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        let alice = try await f.userID(tenant, "alice"), bob = try await f.userID(tenant, "bob")
        let supportCase = try #require(try await f.parent(tenant, "q1@initech.test"))
        try await f.query(tenant) { conn in
            try FollowQueries.followAdd(conn, tenant: tenant, user: bob, record: supportCase)
            try conn.execute("""
                INSERT INTO email_filter (tenant_id, name, scope, user_id, subject_pattern, action)
                VALUES (\(tenant), 'bob-quiet', 'user', \(bob), '*still broken*', 'no_notify')
                """)
        }
        try f.server.deliverToMaildir(box, messages: [
            TestMessages.plain(id: "q2@initech.test", subject: "Re: Printer still broken",
                               extraHeaders: ["In-Reply-To: <q1@initech.test>"]),
            TestMessages.plain(id: "q3@initech.test", subject: "Re: Printer works now",
                               extraHeaders: ["In-Reply-To: <q2@initech.test>"]),
        ])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        let list = try await f.query(tenant) { try NotificationQueries.notificationList($0, tenant: tenant) }
        func notified(_ messageID: String) async throws -> Set<UserID> {
            let id = try await f.query(tenant) { try $0.query("SELECT id FROM email WHERE message_id = \(messageID)").one().decode(EmailID.self, at: 0) }
            return Set(list.filter { $0.emailID == id }.map(\.userID))
        }
        #expect(try await f.parent(tenant, "q2@initech.test") == supportCase)
        #expect(try await notified("q2@initech.test") == [alice])
        #expect(try await notified("q3@initech.test") == [alice, bob])
    }
}
