import Foundation
import Logging
import MailCore
import MailCrypto
@testable import MailStore
import MailTesting
@testable import MailWorker

/// Sending tests' set-up on top of `WorkerFixture`: group accounts that submit through the test
/// Postfix, and a way to run this tenant's queued `send` jobs through the real handler.
struct SendingFixture: Sendable {
    let f: WorkerFixture
    let handler: SendJobHandler

    /// - Parameters:
    ///   - fixture: the worker fixture to build on; a new one on the shared test database when nil.
    ///   - logger: the handler's logger; a silent one when nil.
    ///   - smtpConnectionsPerAccount: the worker's cap on SMTP connections per account.
    static func make(on fixture: WorkerFixture? = nil, logger: Logger? = nil,
                     smtpConnectionsPerAccount: Int = SMTPConnectionCache.defaultPerAccountCap) async throws -> SendingFixture {
        let f: WorkerFixture
        if let fixture { f = fixture } else { f = try await WorkerFixture.make() }
        var silent = Logger(label: "test.send")
        silent.logLevel = .critical
        return SendingFixture(f: f, handler: SendJobHandler(pool: f.pool, secrets: SecretBox(key: f.key), importer: f.caseRunner(),
                                                            connections: SMTPConnectionCache(perAccountCap: smtpConnectionsPerAccount),
                                                            logger: logger ?? silent))
    }

    /// A group account submitting as its own mailbox (index `i` in the manifest: password env:TEST_PW<i>).
    func account(_ name: String, _ mailbox: TestMailbox, index: Int = 0, smtpPort: Int? = nil, smtpExtra: String = "",
                 imapExtra: [String] = [], extra: [String] = []) -> TestGroupAccount {
        TestGroupAccount(name: name, mailbox: mailbox, imapExtra: imapExtra, extra: [
            "smtp: {host: \(f.server.host), port: \(smtpPort ?? f.server.submissionPort), security: starttls, verify_tls: false, "
                + "password: env:TEST_PW\(index), shared: true\(smtpExtra)}",
        ] + extra)
    }

    /// A tenant with one group account "Support" on `mailbox` that submits without AUTH, and a queued
    /// email from alice through it: Postfix answers its RCPT TO with 554 5.7.1 (client rejected), a
    /// permanent failure.
    func tenantWithRefusedEmail(_ prefix: String, _ mailbox: TestMailbox) async throws -> (TenantID, EmailID) {
        var account = self.account("Support", mailbox)
        account.extra[0] = "smtp: {host: \(f.server.host), port: \(f.server.submissionPort), security: starttls, verify_tls: false, auth: none, shared: true}"
        let tenant = try await self.tenant(prefix, accounts: [account])
        let id = try await queue(tenant, EmailDraft(account: try await accountID(tenant, "Support"), user: try await user(tenant, "alice"),
                                                    to: ["someone@test.local"], subject: "x", text: "y"))
        return (tenant, id)
    }

    /// Provisions a tenant and makes alice an admin (she may send from every account).
    func tenant(_ prefix: String, accounts: [TestGroupAccount]) async throws -> TenantID {
        let (tenant, _) = try await f.tenant(prefix, accounts: accounts)
        try await f.query(tenant) { try $0.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'") }
        return tenant
    }

    func user(_ tenant: TenantID, _ username: String) async throws -> UserID {
        try await f.query(tenant) { try $0.query("SELECT id FROM app_user WHERE username = \(username)").one().decode(at: 0) }
    }

    func accountID(_ tenant: TenantID, _ name: String) async throws -> AccountID {
        try await f.query(tenant) { try $0.query("SELECT id FROM mail_account WHERE name = \(name)").one().decode(at: 0) }
    }

    func queue(_ tenant: TenantID, _ draft: EmailDraft) async throws -> EmailID {
        try await f.query(tenant) { try EmailQueries.emailQueue($0, tenant: tenant, draft) }
    }

    /// Runs every ready `send` job of the tenant once, as attempt `attempt`, `lanes` at a time (as a
    /// worker's slots would); returns the errors thrown (temporary failures) by job id. Each job is
    /// then marked done, as the runner would.
    @discardableResult
    func runSends(_ tenant: TenantID, attempt: Int = 1, maxAttempts: Int = 8, lanes: Int = 1) async throws -> [Int64: String] {
        let jobs = try await f.query(tenant) { conn in
            try conn.query("SELECT id, payload::text FROM job WHERE tenant_id = \(tenant) AND kind = 'send' AND state = 'ready' ORDER BY id")
                .map { (try $0.decode(Int64.self, at: 0), try $0.decode(String.self, at: 1)) }
        }
        return try await withThrowingTaskGroup(of: [Int64: String].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var errors: [Int64: String] = [:]
                    for (id, payload) in jobs.enumerated().filter({ $0.offset % lanes == lane }).map(\.element) {
                        let job = Job(id: id, tenantID: tenant, kind: "send", payload: payload, attempt: attempt,
                                      maxAttempts: maxAttempts, leaseEpoch: 1, isPeriodic: false)
                        do { try await handler.handle(job) } catch { errors[id] = "\(error)" }
                        try await f.query(tenant) { try $0.execute("UPDATE job SET state = 'done' WHERE id = \(id)") }
                    }
                    return errors
                }
            }
            return try await group.reduce(into: [:]) { $0.merge($1) { a, _ in a } }
        }
    }

    func status(_ tenant: TenantID, _ id: EmailID) async throws -> (status: String, error: String?) {
        try await f.query(tenant) { conn in
            let row = try conn.query("SELECT status, send_error FROM email WHERE id = \(id)").one()
            return (try row.decode(at: 0), try row.decode(at: 1))
        }
    }

    /// Waits until `mailbox`'s folder holds `count` messages (Postfix delivers asynchronously).
    func waitForMessages(_ mailbox: TestMailbox, folder: String = "INBOX", count: Int, timeout: Duration = .seconds(30)) async throws -> Bool {
        try await Eventually.until(timeout: timeout) { (try? f.server.messageCount(mailbox, folder: folder)) ?? 0 >= count }
    }
}
