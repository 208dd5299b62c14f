import Foundation
import MailCore
@testable import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// Submission security against the real Postfix: STARTTLS (`submissionPort`) and implicit TLS
/// (`smtpsPort`), AUTH PLAIN and LOGIN, certificate verification and refused credentials. Postfix's log
/// says which listener and SASL mechanism each accepted submission really used.
@Suite struct SendingTLSTests {
    /// A group account whose SMTP settings are spelled out; `verifyTLS: nil` leaves the manifest default.
    static func account(_ s: SendingFixture, _ mailbox: TestMailbox, security: String, auth: String, verifyTLS: Bool?,
                        password: String? = nil) -> TestGroupAccount {
        let port = security == "tls" ? s.f.server.smtpsPort : s.f.server.submissionPort
        let verify = verifyTLS.map { "verify_tls: \($0), " } ?? ""
        return TestGroupAccount(name: "Support", mailbox: mailbox, extra: [
            "smtp: {host: \(s.f.server.host), port: \(port), security: \(security), \(verify)auth: \(auth), "
                + "password: env:TEST_PW0, shared: true}",
        ], password: password)
    }

    /// The submissions Postfix logged for `username` since `mark`, once `count` are there (its log
    /// daemon writes a moment after the reply) or the deadline passed.
    static func submissions(_ s: SendingFixture, _ username: String, since mark: UInt64, count: Int) async throws -> [PostfixSubmission] {
        var found: [PostfixSubmission] = []
        _ = try await Eventually.until(timeout: .seconds(10)) {
            found = try s.f.server.postfixSubmissions(username: username, since: mark)
            return found.count >= count
        }
        return found
    }

    static func alerts(_ s: SendingFixture, _ tenant: TenantID) async throws -> [UserID] {
        try await s.f.query(tenant) { try NotificationQueries.notificationList($0, tenant: tenant) }
            .filter { $0.kind == "smtp_failure" }.map(\.userID)
    }

    static func lastError(_ s: SendingFixture, _ tenant: TenantID, _ account: AccountID) async throws -> String? {
        try await s.f.query(tenant) { try $0.query("SELECT smtp_last_error FROM mail_account WHERE id = \(account)").one().decode(at: 0) }
    }

    @Test(arguments: [("starttls", "plain"), ("starttls", "login"), ("tls", "plain"), ("tls", "login")])
    func submitsWithEachMechanismOverEachTLSMode(security: String, auth: String) async throws {
        let s = try await SendingFixture.make()
        let mark = try s.f.server.postfixLogMark()
        let support = try s.f.server.createMailbox(prefix: "send-\(security)-\(auth)")
        let customer = try s.f.server.createMailbox(prefix: "send-\(security)-\(auth)-cust")
        let tenant = try await s.tenant("send-\(security)-\(auth)",
                                        accounts: [Self.account(s, support, security: security, auth: auth, verifyTLS: false)])
        let id = try await s.queue(tenant, EmailDraft(account: try await s.accountID(tenant, "Support"), user: try await s.user(tenant, "alice"),
                                                      to: [customer.address], subject: "Over \(security)", text: "auth \(auth)"))
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, id).status == "Sent")
        #expect(try await s.waitForMessages(customer, count: 1))
        let expected = PostfixSubmission(service: security == "tls" ? "smtps" : "submission", mechanism: auth.uppercased())
        #expect(try await Self.submissions(s, support.address, since: mark, count: 1) == [expected])
    }

    /// The test server's certificate is self-signed: with verification on (the default) the handshake
    /// fails before any credential is sent, and the account, not the message, is at fault.
    @Test(arguments: ["starttls", "tls"])
    func certificateVerificationIsOnUnlessTheAccountSaysOtherwise(security: String) async throws {
        let s = try await SendingFixture.make()
        let mark = try s.f.server.postfixLogMark()
        let support = try s.f.server.createMailbox(prefix: "send-verify-\(security)")
        let customer = try s.f.server.createMailbox(prefix: "send-verify-\(security)-cust")
        let tenant = try await s.tenant("send-verify-\(security)",
                                        accounts: [Self.account(s, support, security: security, auth: "login", verifyTLS: nil)])
        let account = try await s.accountID(tenant, "Support"), alice = try await s.user(tenant, "alice")
        #expect(try await s.f.count(tenant, "SELECT count(*) FROM mail_account WHERE smtp_verify_tls") == 1, "verify_tls defaults to true")
        func queue(_ subject: String) async throws -> EmailID {
            try await s.queue(tenant, EmailDraft(account: account, user: alice, to: [customer.address], subject: subject, text: "x"))
        }

        let first = try await queue("Refused certificate")
        #expect(try await s.runSends(tenant).isEmpty, "a TLS failure is permanent: the job ends without a retry")
        let (status, error) = try await s.status(tenant, first)
        #expect(status == "Failed")
        let text = try #require(error)
        #expect(text.contains("tlsFailed"), "\(text)")
        #expect(text.contains("certificate"), "\(text)")
        #expect(!text.contains(support.password))
        let recorded = try #require(try await Self.lastError(s, tenant, account))
        #expect(recorded.contains("tlsFailed") && !recorded.contains(support.password))
        #expect(try await Self.alerts(s, tenant) == [alice])

        // Still failing: the account's error stays, the alert is not repeated.
        let second = try await queue("Refused again")
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, second).status == "Failed")
        #expect(try await Self.alerts(s, tenant) == [alice], "one alert a day per account")

        // The account opts out of verification: the same server now takes the mail.
        try await s.f.query(tenant) { try $0.execute("UPDATE mail_account SET smtp_verify_tls = false WHERE id = \(account)") }
        let third = try await queue("Unverified")
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, third).status == "Sent")
        #expect(try await s.waitForMessages(customer, count: 1))
        #expect(try await Self.lastError(s, tenant, account) == nil, "a successful send clears the account's error")
        // Only the third send ever authenticated: the refused handshakes sent no credentials.
        let service = security == "tls" ? "smtps" : "submission"
        #expect(try await Self.submissions(s, support.address, since: mark, count: 1)
            == [PostfixSubmission(service: service, mechanism: "LOGIN")])
        #expect(try s.f.server.messageCount(customer) == 1)
    }

    /// A refused password is an account failure and, like any 5xx, permanent for the email (SMTP 535,
    /// RFC 4954 §6): retrying the same credentials cannot succeed.
    @Test(arguments: [("starttls", "plain"), ("tls", "login")])
    func wrongPasswordFailsWithAnAuthenticationError(security: String, auth: String) async throws {
        let s = try await SendingFixture.make()
        let mark = try s.f.server.postfixLogMark()
        let support = try s.f.server.createMailbox(prefix: "send-badpw-\(security)")
        let wrong = "wrong-\(UUID().uuidString)"
        let tenant = try await s.tenant("send-badpw-\(security)",
                                        accounts: [Self.account(s, support, security: security, auth: auth, verifyTLS: false, password: wrong)])
        let account = try await s.accountID(tenant, "Support"), alice = try await s.user(tenant, "alice")
        let id = try await s.queue(tenant, EmailDraft(account: account, user: alice, to: ["c@test.local"], subject: "x", text: "y"))
        #expect(try await s.runSends(tenant, attempt: 1, maxAttempts: 8).isEmpty, "permanent: no retry")
        let (status, error) = try await s.status(tenant, id)
        #expect(status == "Failed")
        let text = try #require(error)
        #expect(text.contains("authenticationFailed"), "\(text)")
        #expect(text.contains("535"), "\(text)")
        for secret in [wrong, support.password, Data(wrong.utf8).base64EncodedString()] {
            #expect(!text.contains(secret))
        }
        let recorded = try #require(try await Self.lastError(s, tenant, account))
        #expect(recorded.contains("authenticationFailed") && !recorded.contains(wrong))
        #expect(try await Self.alerts(s, tenant) == [alice])
        #expect(try s.f.server.postfixSubmissions(username: support.address, since: mark).isEmpty)
    }

    @Test func connectionCacheKeyChangesWithSecuritySettings() {
        let base = SMTPAccount(id: AccountID(1), kind: .group, address: "a@test.local", host: "127.0.0.1", port: 587,
                               security: "starttls", verifyTLS: false, username: nil, auth: "plain", secret: [1, 2],
                               storeSent: false, sentFolder: nil)
        var verified = base
        verified.verifyTLS = true
        var login = base
        login.auth = "login"
        var tls = base
        tls.security = "tls"
        let keys = [base, verified, login, tls].map { SMTPConnectionCache.key(tenant: TenantID(1), account: $0) }
        #expect(Set(keys).count == 4)
        #expect(SMTPConnectionCache.key(tenant: TenantID(1), account: base) == keys[0])
    }
}
