import Foundation
import MailCore
import MailMIME
@testable import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// `mailroom send` and the SMTP part of `mailroom status`, as operators run them: the built
/// executable against the shared test database, with `--tenant` so other tests' tenants never count.
@Suite struct SendCommandLineTests {
    func tempFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-send-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// A tenant whose Support account submits through the test Postfix; alice is an admin, bob has no role.
    func provision(_ s: SendingFixture, _ prefix: String, support: TestMailbox) async throws -> (TenantID, String) {
        let (tenant, slug) = try await s.f.tenant(prefix, accounts: [s.account("Support", support)])
        try await s.f.query(tenant) { try $0.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'") }
        return (tenant, slug)
    }

    @Test func sendQueuesThroughTheDatabaseAndTheWorkerDeliversIt() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "cli-send")
        let customer = try s.f.server.createMailbox(prefix: "cli-send-cust")
        let (tenant, slug) = try await provision(s, "cli-send", support: support)
        let body = try tempFile("body.txt", Array("Dear customer,\nyour order shipped.\n".utf8))
        let html = try tempFile("body.html", Array("<p>Your order shipped.</p>".utf8))
        let attachment = try tempFile("invoice.txt", Array("total: 42".utf8))

        let run = try await MailroomBinary.run(["send", "--tenant", slug, "--from", "Support", "--as", "alice", "--to", customer.address,
                                          "--cc", "Bob@Acme.test", "--bcc", "audit@acme.test", "--subject", "Shipped – Versand",
                                          "--body", body, "--html", html, "--attach", "\(attachment):text/plain"])
        #expect(run.status == 0, "\(run.stderr)")
        let id = try #require(run.stdout.split(separator: " ").last.flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(run.stdout.hasPrefix("queued email "))

        let row = try await s.f.query(tenant) { conn in
            let r = try conn.query("""
                SELECT e.status, e.subject, e.body_text, e.body_html, u.username, a.name
                FROM email e JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.created_by_user_id
                JOIN mail_account a ON a.tenant_id = e.tenant_id AND a.id = e.send_account_id WHERE e.id = \(id)
                """).one()
            return [try r.decode(String.self, at: 0), try r.decode(String.self, at: 1), try r.decode(String.self, at: 2),
                    try r.decode(String.self, at: 3), try r.decode(String.self, at: 4), try r.decode(String.self, at: 5)]
        }
        #expect(row == ["Sending", "Shipped – Versand", "Dear customer,\nyour order shipped.\n", "<p>Your order shipped.</p>", "alice", "Support"])
        let recipients = try await s.f.query(tenant) { conn in
            try conn.query("SELECT kind, address FROM email_recipient WHERE email_id = \(id) AND kind <> 'from' ORDER BY kind")
                .map { "\(try $0.decode(String.self, at: 0)):\(try $0.decode(String.self, at: 1))" }
        }
        #expect(recipients == ["bcc:audit@acme.test", "cc:bob@acme.test", "to:\(customer.address)"])
        let attachments = try await s.f.query(tenant) { conn in
            try conn.query("SELECT filename, content_type, data FROM attachment WHERE email_id = \(id)")
                .map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode([UInt8].self, at: 2)) }
        }
        #expect(attachments.count == 1)
        #expect(attachments.first?.0 == "invoice.txt")
        #expect(attachments.first?.1 == "text/plain")
        #expect(attachments.first?.2 == Array("total: 42".utf8))
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM job WHERE tenant_id = \(tenant) AND kind = 'send' AND state = 'ready'") == 1)

        // The queued email is what the worker sends: it arrives with the file's contents.
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, EmailID(id)).status == "Sent")
        #expect(try await s.waitForMessages(customer, count: 1))
        let imap = try await IMAPConnection(endpoint: s.f.server.endpoint(for: customer))
        defer { imap.close() }
        let parsed = try await imap.run { session -> ParsedMessage in
            let uids = try session.searchUIDs("INBOX", after: nil)
            return try MIMEParser.parse(try session.fetchMessage("INBOX", uid: uids[0]))
        }
        #expect(parsed.subject == "Shipped – Versand")
        #expect(parsed.from.map(\.address) == [support.address])
        #expect(parsed.attachments.map(\.filename) == ["invoice.txt"])
        #expect(parsed.header("Bcc") == nil)
    }

    @Test func sendRefusalsNameTheProblemAndQueueNothing() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "cli-refuse")
        let (tenant, slug) = try await provision(s, "cli-refuse", support: support)
        let base = ["send", "--tenant", slug, "--from", "Support", "--to", "c@test.local"]
        let cases: [([String], String)] = [
            // bob has no role granting the group account: the database refuses (42501), naming the account.
            (base + ["--as", "bob", "--subject", "Hi"], "may not send from mail account"),
            (base + ["--as", "alice", "--subject", "Hi\r\nBcc: victim@test.local"], "line break"),
            (["send", "--tenant", slug, "--from", "Support", "--as", "alice", "--to", "not-an-address", "--subject", "Hi"],
             "invalid recipient address"),
            (base + ["--as", "nobody", "--subject", "Hi"], "no user \"nobody\""),
            (["send", "--tenant", slug, "--from", "Nowhere", "--as", "alice", "--to", "c@test.local", "--subject", "Hi"],
             "no account \"Nowhere\""),
            (base + ["--as", "alice", "--subject", "Hi", "--body", "/nonexistent/body.txt"], "cannot read /nonexistent/body.txt"),
        ]
        for (args, expected) in cases {
            let run = try await MailroomBinary.run(args)
            #expect(run.status != 0, "\(args)")
            #expect(run.stderr.contains(expected), "\(args): \(run.stderr)")
        }
        let bob = try await MailroomBinary.run(base + ["--as", "bob", "--subject", "Hi"])
        #expect(bob.stderr.contains("Support <\(support.address)>"), "\(bob.stderr)")
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM email") == 0)
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM job WHERE tenant_id = \(tenant) AND kind = 'send'") == 0)
    }

    @Test func statusShowsFailingSMTPAccountsInTheTableAndTheJSON() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "cli-smtp-down")
        let sales = try s.f.server.createMailbox(prefix: "cli-smtp-ok")
        // Support submits to a closed port: one real send attempt records the failure and alerts.
        let (tenant, slug) = try await s.f.tenant("cli-smtp", accounts: [s.account("Support", support, smtpPort: 1),
                                                                         s.account("Sales", sales, index: 1)])
        try await s.f.query(tenant) { try $0.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'") }
        let account = try await s.accountID(tenant, "Support")
        _ = try await s.queue(tenant, EmailDraft(account: account, user: try await s.user(tenant, "alice"), to: ["c@test.local"],
                                                 subject: "x", text: "y"))
        #expect(try await s.runSends(tenant).count == 1)

        let json = try await MailroomBinary.run(["status", "--tenant", slug, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let t = try #require((doc["tenants"] as? [[String: Any]])?.first)
        let failures = try #require(t["smtp_failures"] as? [[String: Any]])
        #expect(failures.count == 1, "only the failing account")
        let f = try #require(failures.first)
        #expect(Set(f.keys) == ["account", "account_id", "address", "last_error", "last_error_at", "alerted_at"])
        #expect(f["account"] as? String == "Support")
        #expect(f["account_id"] as? Int == Int(account.rawValue))
        #expect(f["address"] as? String == support.address)
        #expect((f["last_error"] as? String)?.contains("connectFailed") == true)
        #expect(f["last_error_at"] is String)
        #expect(f["alerted_at"] is String)

        let table = try await MailroomBinary.run(["status", "--tenant", slug])
        #expect(table.status == 0)
        #expect(table.stdout.contains("smtp failing since"))
        let line = try #require(table.stdout.split(separator: "\n").first { $0.contains(support.address) })
        #expect(line.contains("Support"))
        #expect(line.contains("connectFailed"))
        #expect(line.contains("ago"))
        #expect(!table.stdout.contains(sales.address))

        // A successful send clears the account's error: the section disappears.
        try await s.f.query(tenant) { conn in
            try conn.execute("UPDATE mail_account SET smtp_port = \(s.f.server.submissionPort) WHERE id = \(account)")
            try conn.execute("UPDATE job SET state = 'ready' WHERE tenant_id = \(tenant) AND kind = 'send'")
        }
        #expect(try await s.runSends(tenant, attempt: 2).isEmpty)
        let healed = try await MailroomBinary.run(["status", "--tenant", slug, "--json"])
        let healedDoc = try #require(try JSONSerialization.jsonObject(with: Data(healed.stdout.utf8)) as? [String: Any])
        #expect(((healedDoc["tenants"] as? [[String: Any]])?.first?["smtp_failures"] as? [Any])?.isEmpty == true)
        #expect(!(try await MailroomBinary.run(["status", "--tenant", slug])).stdout.contains("smtp failing since"))
    }
}
