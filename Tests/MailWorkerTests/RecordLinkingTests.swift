import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Linking by address on a personal-style account without Email-to-Case (rules 3–4), real servers.
@Suite struct RecordLinkingTests {
    @Test func contactsAccountsLeadsAndSharedAddresses() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "link")
        let (tenant, _) = try await f.tenant("link", accounts: [.init(name: "Support", mailbox: box)])
        let ids = try await f.query(tenant) { conn -> [String: Int64] in
            func one(_ sql: SQL) throws -> Int64 { try conn.query(sql).one().decode(at: 0) }
            let initech = try one("SELECT id FROM crm_account WHERE name = 'Initech'")
            let peter = try one("SELECT id FROM contact WHERE name = 'Peter Gibbons'")
            // Peter's second address; a contact without account; a lead; an address shared by an account and a
            // lead (accounts win) and by two contacts (the primary one wins).
            try conn.execute("INSERT INTO email_address_owner (tenant_id, address, contact_id, position) VALUES (\(tenant), 'peter@home.test', \(peter), 1)")
            let solo = try one("INSERT INTO contact (tenant_id, name) VALUES (\(tenant), 'Sam Solo') RETURNING id")
            try conn.execute("INSERT INTO email_address_owner (tenant_id, address, contact_id) VALUES (\(tenant), 'sam@solo.test', \(solo))")
            let lead = try one("INSERT INTO lead (tenant_id, name) VALUES (\(tenant), 'Lena Lead') RETURNING id")
            try conn.execute("INSERT INTO email_address_owner (tenant_id, address, lead_id) VALUES (\(tenant), 'lena@prospect.test', \(lead))")
            let globex = try one("INSERT INTO crm_account (tenant_id, name) VALUES (\(tenant), 'Globex') RETURNING id")
            try conn.execute("INSERT INTO email_address_owner (tenant_id, address, lead_id) VALUES (\(tenant), 'office@globex.test', \(lead))")
            try conn.execute("INSERT INTO email_address_owner (tenant_id, address, account_id) VALUES (\(tenant), 'office@globex.test', \(globex))")
            let c1 = try one("INSERT INTO contact (tenant_id, name) VALUES (\(tenant), 'Twin One') RETURNING id")
            let c2 = try one("INSERT INTO contact (tenant_id, name) VALUES (\(tenant), 'Twin Two') RETURNING id")
            try conn.execute("INSERT INTO email_address_owner (tenant_id, address, contact_id) VALUES (\(tenant), 'twins@family.test', \(c1))")
            try conn.execute("INSERT INTO email_address_owner (tenant_id, address, contact_id, is_primary) VALUES (\(tenant), 'twins@family.test', \(c2), true)")
            return ["initech": initech, "solo": solo, "lead": lead, "globex": globex, "c2": c2]
        }
        try f.server.deliverToMaildir(box, messages: [
            TestMessages.plain(id: "home@x.test", subject: "From home", from: "peter@home.test"),
            TestMessages.plain(id: "solo@x.test", subject: "Solo", from: "sam@solo.test"),
            TestMessages.plain(id: "lead@x.test", subject: "Lead", from: "lena@prospect.test"),
            TestMessages.plain(id: "shared@x.test", subject: "Shared", from: "office@globex.test"),
            TestMessages.plain(id: "twins@x.test", subject: "Twins", from: "twins@family.test"),
            TestMessages.plain(id: "replyto@x.test", subject: "Via reply-to", from: "stranger@x.test",
                               extraHeaders: ["Reply-To: sam@solo.test"]),
            TestMessages.plain(id: "to@x.test", subject: "Outgoing copy", from: "stranger@x.test", to: "lena@prospect.test"),
            TestMessages.plain(id: "nobody@x.test", subject: "Nobody", from: "stranger@x.test"),
            TestMessages.plain(id: "reply@x.test", subject: "Re: Lead", from: "stranger@x.test",
                               extraHeaders: ["In-Reply-To: <lead@x.test>"]),
        ])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        #expect(try await f.parent(tenant, "home@x.test") == RecordRef(.account, ids["initech"]!))
        #expect(try await f.parent(tenant, "solo@x.test") == RecordRef(.contact, ids["solo"]!))
        #expect(try await f.parent(tenant, "lead@x.test") == RecordRef(.lead, ids["lead"]!))
        #expect(try await f.parent(tenant, "shared@x.test") == RecordRef(.account, ids["globex"]!))
        #expect(try await f.parent(tenant, "twins@x.test") == RecordRef(.contact, ids["c2"]!))
        #expect(try await f.parent(tenant, "replyto@x.test") == RecordRef(.contact, ids["solo"]!))
        #expect(try await f.parent(tenant, "to@x.test") == RecordRef(.lead, ids["lead"]!))
        #expect(try await f.parent(tenant, "nobody@x.test") == nil)
        #expect(try await f.parent(tenant, "reply@x.test") == RecordRef(.lead, ids["lead"]!))
        // Emails with a parent also carry the parent's account.
        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE message_id = 'home@x.test' AND crm_account_id = \(ids["initech"]!)") == 1)
        #expect(try await f.count(tenant, "SELECT count(*) FROM support_case") == 0)
    }
}
