import Foundation
import MailCore
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Permission is checked again when the worker sends, not only when the email is queued: a grant
/// revoked in between fails the email with a clear reason, and nothing reaches the server.
@Suite struct SendPermissionRecheckTests {
    @Test func aPermissionRevokedAfterQueueingFailsTheEmailUnsent() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "recheck")
        let customer = try s.f.server.createMailbox(prefix: "recheck-cust")
        let tenant = try await s.tenant("recheck", accounts: [s.account("Support", support)])
        let account = try await s.accountID(tenant, "Support")
        let alice = try await s.user(tenant, "alice"), bob = try await s.user(tenant, "bob")
        // bob may send through Support by a 'team' role (he and the account share team support).
        try await s.f.query(tenant) { conn in
            let role: Int64 = try conn.query("""
                INSERT INTO role (tenant_id, name, group_email_account_permission) VALUES (\(tenant), 'agents', 'team') RETURNING id
                """).one().decode(at: 0)
            try conn.execute("INSERT INTO user_role (tenant_id, user_id, role_id) VALUES (\(tenant), \(bob), \(role))")
        }
        func draft(_ user: UserID, _ subject: String) -> EmailDraft {
            EmailDraft(account: account, user: user, to: [customer.address], subject: subject, text: "x")
        }
        let byBob = try await s.queue(tenant, draft(bob, "from bob"))
        let byBobToo = try await s.queue(tenant, draft(bob, "from bob again"))
        let byAlice = try await s.queue(tenant, draft(alice, "from alice"))

        // Revoked after queueing: bob leaves the team the account is shared with.
        try await s.f.query(tenant) { try $0.execute("DELETE FROM team_user WHERE tenant_id = \(tenant) AND user_id = \(bob)") }
        #expect(try await s.runSends(tenant).isEmpty, "a refusal is final: no retry")

        let (status, error) = try await s.status(tenant, byBob)
        #expect(status == "Failed")
        let reason = try #require(error)
        #expect(reason.contains("user bob may no longer send from mail account Support <\(support.address)>"), "\(reason)")
        #expect(try await s.status(tenant, byBobToo).status == "Failed")
        // alice is an admin: her email, queued alongside, goes out.
        #expect(try await s.status(tenant, byAlice).status == "Sent")
        #expect(try await s.waitForMessages(customer, count: 1))
        let subjects = try await s.f.query(tenant) { conn in
            try conn.query("SELECT subject FROM email WHERE status = 'Sent'").map { try $0.decode(String.self, at: 0) }
        }
        #expect(subjects == ["from alice"])
        // Never submitted: one attempt counted, no SMTP error on the account.
        #expect(try await s.f.count(tenant, "SELECT send_attempts FROM email WHERE id = \(byBob)") == 1)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM mail_account WHERE smtp_last_error IS NOT NULL") == 0)

        // A user deactivated after queueing is refused too, even an admin.
        let late = try await s.queue(tenant, draft(alice, "from alice, deactivated"))
        try await s.f.query(tenant) { try $0.execute("UPDATE app_user SET is_active = false WHERE id = \(alice)") }
        #expect(try await s.runSends(tenant).isEmpty)
        let (lateStatus, lateError) = try await s.status(tenant, late)
        #expect(lateStatus == "Failed")
        #expect(lateError?.contains("user alice may no longer send") == true, "\(lateError ?? "")")
    }
}
