import Foundation
import MailCore
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// `mailroom send --send-anyway` and `mailroom address show|clear`, as operators run them: the built
/// executable against the shared test database (docs/bounces.md).
@Suite struct AddressCommandLineTests {
    @Test func anUndeliverableAddressIsRefusedSentAnywayShownAndCleared() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "cli-bounce")
        let (tenant, slug) = try await s.f.tenant("cli-bounce", accounts: [s.account("Support", support)])
        try await s.f.query(tenant) { try $0.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'") }
        let gone = "gone-\(UUID().uuidString.prefix(8).lowercased())@customer.test"
        // An email to it, and a report that it failed (recorded as the worker records one).
        let sent = try await s.queue(tenant, EmailDraft(account: try await s.accountID(tenant, "Support"), user: try await s.user(tenant, "alice"),
                                                        to: [gone], subject: "Your order", text: "x"))
        try await s.f.query(tenant) { conn in
            let messageID: String = try conn.query("SELECT message_id FROM email WHERE id = \(sent)").one().decode(at: 0)
            let report: EmailID = try conn.query("""
                INSERT INTO email (tenant_id, message_id, from_address) VALUES (\(tenant), \(UUID().uuidString + "@mx.test"), 'mailer-daemon@mx.test')
                RETURNING id
                """).one().decode(at: 0)
            try EmailBounceQueries.emailBounceRecord(conn, tenant: tenant, report: report, messageIDs: [messageID], recipients: [
                .init(address: gone, action: "failed", severity: "hard", status: "5.1.1", diagnostic: "550 5.1.1 User unknown")])
        }
        let send = ["send", "--tenant", slug, "--from", "Support", "--as", "alice", "--to", gone, "--subject", "Again"]

        let refused = try await MailroomBinary.run(send)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(gone) is undeliverable") && refused.stderr.contains("hard bounce 5.1.1"), "\(refused.stderr)")
        let anyway = try await MailroomBinary.run(send + ["--send-anyway"])
        #expect(anyway.status == 0, "\(anyway.stderr)")
        #expect(anyway.stdout.hasPrefix("queued email "))

        let shown = try await MailroomBinary.run(["address", "show", "--tenant", slug, gone.uppercased()])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains(gone) && shown.stdout.contains("hard bounce 5.1.1"))
        let cleared = try await MailroomBinary.run(["address", "clear", "--tenant", slug, gone])
        #expect(cleared.status == 0, "\(cleared.stderr)")
        #expect(cleared.stdout.contains("cleared \(gone)"))
        let again = try await MailroomBinary.run(["address", "clear", "--tenant", slug, gone])
        #expect(again.stdout.contains("was not marked"))
        #expect(try await MailroomBinary.run(send).status == 0, "queued once cleared")
        let health = try await s.f.query(tenant) { try AddressHealthQueries.addressHealthGet($0, tenant: tenant, address: gone) }
        #expect(health?.undeliverableAt == nil && health?.clearedBy == "administrator")
    }
}
