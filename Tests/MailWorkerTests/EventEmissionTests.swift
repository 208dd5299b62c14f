import Foundation
import Logging
import MailCore
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// The events real work writes (docs/events.md), against the real Postgres, Dovecot and Postfix:
/// import through the worker, Email-to-Case, sending and failing to send, a mailbox whose server goes
/// away and comes back, a stalled folder. Every event found must validate against its published
/// schema (docs/events/).
@Suite struct EventEmissionTests {
    static func events(_ pool: PostgresPool, _ tenant: TenantID, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [EventRecord] {
        let events = try await EventSchemas.events(pool, tenant: tenant)
        for e in events {
            #expect(try EventSchemas.violations(e) == [], "\(e.type) \(e.payload)", sourceLocation: sourceLocation)
        }
        return events
    }

    static func count(_ events: [EventRecord], _ type: String) -> Int { events.filter { $0.type == type }.count }

    static func ids(_ events: [EventRecord], _ type: String, _ key: String) throws -> [Int64] {
        try events.filter { $0.type == type }.map { e in
            guard case .integer(let id)? = try EventSchemas.payload(e)[key] else { throw JSONSchema.Invalid(description: "no \(key) in \(e.payload)") }
            return id
        }
    }

    /// One email in two mailboxes is received once; a case account's mail creates, assigns and links
    /// cases; a customer's reply to a closed case reopens it.
    @Test func importWritesOneReceivedPerEmailAndTheCaseEvents() async throws {
        let f = try await WorkerFixture.make()
        let support = try f.server.createMailbox(prefix: "ev-support")
        let sales = try f.server.createMailbox(prefix: "ev-sales")
        let first = TestMessages.plain(id: "ev1@initech.test", subject: "Printer on fire")
        try f.server.deliverToMaildir(support, messages: [first, TestMessages.plain(id: "ev2@initech.test", subject: "TPS report")])
        try f.server.deliverToMaildir(sales, messages: [first])
        let (tenant, _) = try await f.tenant("ev-import", accounts: [
            f.caseAccount(support, extraCase: ", reopen: {enabled: true, status: Assigned}"),
            WorkerFixture.Account(name: "Sales", mailbox: sales)])
        _ = try await f.importAll(tenant, runner: f.caseRunner())

        var events = try await Self.events(f.pool, tenant)
        let stored: [Int64] = try await f.query(tenant) { try $0.query("SELECT id FROM email ORDER BY id").map { try $0.decode(at: 0) } }
        #expect(stored.count == 2)
        #expect(try Self.ids(events, "email.received", "email_id").sorted() == stored)
        #expect(Self.count(events, "case.created") == 2)
        #expect(Self.count(events, "case.assigned") == 2)
        let caseIDs = try Self.ids(events, "case.created", "case_id")
        #expect(try Self.ids(events, "email.linked", "parent_id").sorted() == caseIDs.sorted())
        #expect(events.map(\.seq) == Array(1...Int64(events.count)))
        // Each email's `received` comes before its `linked`.
        let order = try events.map { ($0.type, try EventSchemas.payload($0)["email_id"]) }
        for id in stored {
            let received = order.firstIndex { $0.0 == "email.received" && $0.1 == .integer(id) }
            let linked = order.firstIndex { $0.0 == "email.linked" && $0.1 == .integer(id) }
            #expect(received != nil && linked != nil && received! < linked!)
        }

        try await f.query(tenant) { try $0.execute("UPDATE support_case SET status = 'Closed' WHERE id = \(caseIDs[0])") }
        try f.server.deliverToMaildir(support, messages: [TestMessages.plain(
            id: "ev3@initech.test", subject: "Re: Printer on fire", extraHeaders: ["In-Reply-To: <ev1@initech.test>"])])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        let before = events.count
        events = try await Self.events(f.pool, tenant)
        #expect(events[before...].map(\.type) == ["email.received", "email.linked", "case.reopened"])
        #expect(try Self.ids(Array(events[before...]), "case.reopened", "case_id") == [caseIDs[0]])
        // Polling again finds nothing new and writes nothing.
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        #expect(try await Self.events(f.pool, tenant).count == events.count)
    }

    @Test func sendingWritesQueuedThenSentOrFailed() async throws {
        let s = try await SendingFixture.make()
        let support = try s.f.server.createMailbox(prefix: "ev-send")
        let customer = try s.f.server.createMailbox(prefix: "ev-customer")
        let tenant = try await s.tenant("ev-send", accounts: [s.account("Support", support)])
        let id = try await s.queue(tenant, EmailDraft(account: try await s.accountID(tenant, "Support"), user: try await s.user(tenant, "alice"),
                                                      to: [customer.address], subject: "Your ticket", text: "Hello"))
        #expect(try await Self.events(s.f.pool, tenant).map(\.type) == ["email.queued"])
        #expect(try await s.runSends(tenant).isEmpty)
        #expect(try await s.status(tenant, id).status == "Sent")
        let events = try await Self.events(s.f.pool, tenant)
        #expect(events.map(\.type) == ["email.queued", "email.sent"])
        #expect(try Self.ids(events, "email.sent", "email_id") == [id.rawValue])
        #expect(!events.contains { $0.payload.contains("Hello") })

        // Submission without AUTH: Postfix refuses the recipient (554), a permanent failure.
        let refused = try s.f.server.createMailbox(prefix: "ev-5xx")
        let (failing, bad) = try await s.tenantWithRefusedEmail("ev-5xx", refused)
        #expect(try await s.runSends(failing).isEmpty)
        let failed = try await Self.events(s.f.pool, failing)
        #expect(failed.map(\.type) == ["email.queued", "email.send_failed"])
        let payload = try EventSchemas.payload(failed[1])
        #expect(payload["email_id"] == .integer(bad.rawValue))
        guard case .string(let error)? = payload["error"] else { Issue.record("no error in \(failed[1].payload)"); return }
        #expect(error.contains("554") && !error.contains(refused.password))
    }

    /// The provider refuses the grant (revoked at the test token server): the grant needs a new login,
    /// reported once however often the workers then ask for a token.
    @Test func aRevokedOAuthGrantWritesReauthRequiredOnce() async throws {
        let f = try await OAuthTokenLifecycleTests.makeFixture()
        try await f.tokens.revoke(f.user)
        for _ in 0..<3 {
            await #expect(throws: OAuthUnavailable.self) {
                try await f.provider(offset: 50).accessToken(tenant: f.tenant, account: f.account, client: f.client)
            }
        }
        let events = try await Self.events(f.pool, f.tenant)
        #expect(events.map(\.type) == ["account.reauth_required"])
        let payload = try EventSchemas.payload(events[0])
        #expect(payload["account_id"] == .integer(f.account.rawValue))
        guard case .string(let reason)? = payload["reason"] else { Issue.record("no reason in \(events[0].payload)"); return }
        #expect(reason.contains("invalid_grant"))
    }

    /// The server goes away (its port closed) for two polls and comes back: one failure, one recovery.
    @Test func aMailboxThatFailsAndRecoversWritesOneEventEach() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "ev-conn")
        let (tenant, _) = try await f.tenant("ev-conn", accounts: [WorkerFixture.Account(name: "Support", mailbox: box)])
        let closed = try ClosedLoopbackPort()
        let port: Int = try await f.query(tenant) { try $0.query("SELECT imap_port FROM mail_account").one().decode(at: 0) }
        try await f.query(tenant) { try $0.execute("UPDATE mail_account SET imap_port = \(closed.port)") }
        _ = try await f.importAll(tenant)
        _ = try await f.importAll(tenant)
        #expect(try await Self.events(f.pool, tenant).map(\.type) == ["account.connection_failed"])
        try await f.query(tenant) { try $0.execute("UPDATE mail_account SET imap_port = \(port)") }
        _ = try await f.importAll(tenant)
        _ = try await f.importAll(tenant)
        let events = try await Self.events(f.pool, tenant)
        #expect(events.map(\.type) == ["account.connection_failed", "account.connection_restored"])
        #expect(try await f.count(tenant, "SELECT count(*) FROM mail_account WHERE last_error IS NULL") == 1)
    }

    /// A folder without a successful poll for longer than its bound is reported once; a successful
    /// poll ends the stall, and a new one is reported again.
    @Test func aStalledFolderIsReportedOncePerStall() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "ev-stall")
        let (tenant, _) = try await f.tenant("ev-stall", accounts: [WorkerFixture.Account(name: "Support", mailbox: box)])
        _ = try await f.importAll(tenant)
        let maintenance = Maintenance(pool: f.pool, conninfo: try TestDatabase.url(), metrics: WorkerMetrics(), logger: .init(label: "test.events"),
                                      onNewWork: {})
        guard let t = try await f.pool.withConnection({ try TenantQueries.tenantListActive($0) }).first(where: { $0.id == tenant }) else {
            Issue.record("tenant not listed"); return
        }
        // Polled a moment ago: within its bound (60 s interval + 5 minutes).
        try await maintenance.reportStalledFolders(of: t, now: Date())
        #expect(try await Self.events(f.pool, tenant).isEmpty)

        let stall = { _ = try await f.query(tenant) { try $0.execute("UPDATE mail_folder SET last_success_at = now() - interval '7 minutes'") } }
        try await stall()
        try await maintenance.reportStalledFolders(of: t, now: Date())
        try await maintenance.reportStalledFolders(of: t, now: Date())
        var events = try await Self.events(f.pool, tenant)
        #expect(events.map(\.type) == ["folder.stalled"])
        let payload = try EventSchemas.payload(events[0])
        #expect(payload["name"] == .string("INBOX") && payload["stalled_after_seconds"] == .integer(360)
                && payload["poll_interval_seconds"] == .integer(60))

        _ = try await f.importAll(tenant)
        #expect(try await f.count(tenant, "SELECT count(*) FROM mail_folder WHERE stalled_at IS NULL") == 1)
        try await stall()
        try await maintenance.reportStalledFolders(of: t, now: Date())
        events = try await Self.events(f.pool, tenant)
        #expect(events.map(\.type) == ["folder.stalled", "folder.stalled"])
    }
}
