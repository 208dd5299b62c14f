import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// The storm breaker (`case.sender_limit`): per sender and tenant at most N new cases and M
/// reopenings within a window; past that, mail is still stored and linked but opens nothing,
/// reopens nothing and gets no auto-reply; the trip is logged once, listed by `mailroom status` and
/// counted by the worker's gauges; the window passing resets it.
@Suite struct StormBreakerTests {
    static let peter = "peter@initech.test"

    /// A tenant whose "Support" account creates cases (direct to alice) and auto-replies, with the
    /// breaker at `cases` / `reopens` per 2 hours.
    static func setUp(_ prefix: String, cases: Int = 3, reopens: Int = 2, reopen: Bool = false)
        async throws -> (s: SendingFixture, box: TestMailbox, tenant: TenantID, slug: String) {
        let s = try await SendingFixture.make()
        let box = try s.f.server.createMailbox(prefix: prefix)
        let reopenRule = reopen ? ", reopen: {enabled: true, status: Assigned}" : ""
        let account = s.account("Support", box, extra: [
            "case: {create: true, distribution: direct, assign_to: alice, sender_limit: {cases: \(cases), reopens: \(reopens), window: 2h}\(reopenRule)}",
            "auto_reply: {enabled: true, body: 'We got it.', limit: {count: 100, window: 2h}}",
        ])
        let (tenant, slug) = try await s.f.tenant(prefix, accounts: [account])
        return (s, box, tenant, slug)
    }

    static func mail(_ n: Int, from: String = "Peter Gibbons <peter@initech.test>", subject: String? = nil,
                     extra: [String] = []) -> (id: String, bytes: [UInt8]) {
        let id = "storm-\(n)-\(UUID().uuidString)@initech.test"
        return (id, TestMessages.plain(id: id, subject: subject ?? "Printer \(n)", from: from, extraHeaders: extra))
    }

    /// A runner whose log lines land in `capture`.
    static func runner(_ f: WorkerFixture, capture: LogCapture) -> ImportRunner {
        var settings = ImportSettings()
        settings.outboundPolicy = f.server.outboundPolicy
        settings.recordTokenKey = f.key
        settings.connectTimeout = .seconds(30)
        settings.ioTimeout = .seconds(20)
        return ImportRunner(pool: f.pool, secrets: SecretBox(key: f.key), settings: settings, logger: capture.logger)
    }

    static func trips(_ f: WorkerFixture, _ tenant: TenantID) async throws -> [CaseSenderLimitQueries.Trip] {
        try await f.query(tenant) { try CaseSenderLimitQueries.caseSenderListTripped($0, tenant: tenant) }
    }

    @Test func theNthCaseOpensAndTheNextOnlyLinksWithoutAutoReply() async throws {
        let (s, box, tenant, slug) = try await Self.setUp("storm-n")
        let f = s.f
        let mails = (1...5).map { Self.mail($0) }
        try f.server.deliverToMaildir(box, messages: mails.map(\.bytes))
        let capture = LogCapture()
        _ = try await f.importAll(tenant, runner: Self.runner(f, capture: capture))

        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE NOT is_auto_reply") == 5, "every mail is stored")
        #expect(try await f.cases(tenant).count == 3)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE is_auto_reply") == 3, "no auto-reply past the limit")
        // Peter is a contact of Initech, and the tenant sells to businesses: his mail links to the account.
        let initech = try await f.query(tenant) { try $0.query("SELECT id FROM crm_account WHERE name = 'Initech'").one().decode(Int64.self, at: 0) }
        for (i, m) in mails.enumerated() {
            let parent = try await f.parent(tenant, m.id)
            if i < 3 {
                #expect(parent?.type == .supportCase, "mail \(i + 1) opens a case")
            } else {
                #expect(parent == RecordRef(.account, initech), "mail \(i + 1) is linked to the sender's record only")
            }
        }

        let trips = try await Self.trips(f, tenant)
        #expect(trips.count == 1)
        let trip = try #require(trips.first)
        #expect(trip.sender == Self.peter && trip.slot == .create && trip.account == "Support" && trip.heldBack == 2)
        let lines = capture.all.filter { $0.message.hasPrefix("storm breaker tripped") }
        #expect(lines.count == 1, "one log line per trip")
        #expect(lines.first?["sender"] == Self.peter && lines.first?["slot"] == "create" && lines.first?["limit"] == "3")
        #expect(lines.first?.level == .warning)

        // Another sender is counted on its own.
        try f.server.deliverToMaildir(box, messages: [Self.mail(9, from: "Bill <bill@initech.test>").bytes])
        _ = try await f.importAll(tenant)
        #expect(try await f.cases(tenant).count == 4)

        // `mailroom status` names the sender, the tenant and the account; the gauges count the trip.
        let run = try await MailroomBinary.run(["status", "--tenant", slug, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let t = try #require((doc["tenants"] as? [[String: Any]])?.first)
        let breakers = try #require(t["storm_breakers"] as? [[String: Any]])
        #expect(breakers.count == 1)
        #expect(breakers.first?["sender"] as? String == Self.peter)
        #expect(breakers.first?["account"] as? String == "Support")
        #expect(breakers.first?["slot"] as? String == "create")
        #expect(breakers.first?["held_back"] as? Int == 2)
        #expect(breakers.first?["since"] is String && breakers.first?["last_held_at"] is String)
        let table = try await MailroomBinary.run(["status", "--tenant", slug])
        let line = try #require(table.stdout.split(separator: "\n").first { $0.contains(Self.peter) })
        #expect(line.contains(slug) && line.contains("Support") && line.contains("new cases"))

        let metrics = WorkerMetrics()
        var silent = Logger(label: "test.maintenance")
        silent.logLevel = .critical
        let maintenance = Maintenance(pool: f.pool, conninfo: try TestDatabase.url(), metrics: metrics, logger: silent, onNewWork: {})
        await maintenance.publishStormBreakers()
        let text = metrics.render()
        #expect(LoopbackHTTP.sample(text, "mailroom_storm_breakers_tripped{tenant=\"\(slug)\"}") == 1)
        #expect(LoopbackHTTP.sample(text, "mailroom_storm_mails_held{tenant=\"\(slug)\"}") == 2)
    }

    @Test func reopeningsHaveALimitOfTheirOwn() async throws {
        let (s, box, tenant, _) = try await Self.setUp("storm-reopen", cases: 5, reopens: 2, reopen: true)
        let f = s.f
        let first = Self.mail(0)
        try f.server.deliverToMaildir(box, messages: [first.bytes])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        let caseRef = try #require(try await f.parent(tenant, first.id))
        #expect(caseRef.type == .supportCase)

        // Three replies in the thread, each after the case was closed: two reopen it, the third is
        // linked to the case and leaves it closed.
        var statuses: [String] = []
        for n in 1...3 {
            try await f.query(tenant) { try $0.execute("UPDATE support_case SET status = 'Closed' WHERE id = \(caseRef.id)") }
            let reply = Self.mail(n, subject: "Re: Printer 0", extra: ["In-Reply-To: <\(first.id)>"])
            try f.server.deliverToMaildir(box, messages: [reply.bytes])
            _ = try await f.importAll(tenant, runner: f.caseRunner())
            #expect(try await f.parent(tenant, reply.id) == caseRef, "reply \(n) joins the case")
            statuses.append(try await f.cases(tenant).first?.status ?? "?")
        }
        #expect(statuses == ["Assigned", "Assigned", "Closed"])
        #expect(try await f.count(tenant, "SELECT count(*) FROM stream_entry WHERE kind = 'reopened'") == 2)
        let trips = try await Self.trips(f, tenant)
        #expect(trips.map(\.slot) == [.reopen], "the create slot is untouched: one case only")
        #expect(trips.first?.heldBack == 1)

        // A new thread from the same sender still opens a case: the two limits are separate.
        let other = Self.mail(7, subject: "Another question")
        try f.server.deliverToMaildir(box, messages: [other.bytes])
        _ = try await f.importAll(tenant, runner: f.caseRunner())
        #expect(try await f.parent(tenant, other.id)?.type == .supportCase)
    }

    @Test func theBreakerResetsWhenTheWindowPasses() async throws {
        let (s, box, tenant, _) = try await Self.setUp("storm-window", cases: 2)
        let f = s.f
        try f.server.deliverToMaildir(box, messages: (1...3).map { Self.mail($0).bytes })
        _ = try await f.importAll(tenant)
        #expect(try await f.cases(tenant).count == 2)
        #expect(try await Self.trips(f, tenant).count == 1)

        // Back-date the slots past the 2-hour window instead of waiting: the trip no longer holds.
        try await f.query(tenant) {
            try $0.execute("UPDATE case_sender_limit SET taken_at = ARRAY(SELECT x - interval '121 minutes' FROM unnest(taken_at) x)")
        }
        #expect(try await Self.trips(f, tenant).isEmpty, "status lists a trip only while it holds")

        let next = Self.mail(4)
        try f.server.deliverToMaildir(box, messages: [next.bytes])
        _ = try await f.importAll(tenant)
        #expect(try await f.parent(tenant, next.id)?.type == .supportCase)
        #expect(try await f.cases(tenant).count == 3)
        #expect(try await f.count(tenant, "SELECT count(*) FROM case_sender_limit WHERE tripped_at IS NULL AND held_back = 0") == 1,
                "the new slot ends the trip")
        #expect(try await f.count(tenant, "SELECT cardinality(taken_at) FROM case_sender_limit") == 1,
                "slots older than every account's window are dropped")
    }

    @Test func concurrentTakesNeverExceedTheLimit() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "storm-race"), other = try f.server.createMailbox(prefix: "storm-race-b")
        let (tenant, _) = try await f.tenant("storm-race", accounts: [
            .init(name: "Support", mailbox: box, extra: ["case: {sender_limit: {cases: 5, window: 1h}}"]),
            .init(name: "Sales", mailbox: other, extra: ["case: {sender_limit: {cases: 5, window: 1h}}"]),
        ])
        let accounts = try await f.query(tenant) { conn in
            try conn.query("SELECT id FROM mail_account ORDER BY name").map { try $0.decode(AccountID.self, at: 0) }
        }
        // The workers' role, as replicas would take slots: eight connections, 40 takes at once, over
        // both accounts (the count is the tenant's).
        let service = try await TestDatabase.pool(as: .service, connections: 8)
        let answers = try await withThrowingTaskGroup(of: CaseRouting.BreakerAnswer.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await service.transaction(tenant: tenant) {
                        try CaseSenderLimitQueries.caseSenderTake($0, tenant: tenant, account: accounts[i % 2], sender: Self.peter, slot: .create)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.filter { $0 == .taken }.count == 5)
        #expect(answers.filter { $0 == .tripped }.count == 1)
        #expect(answers.filter { $0 == .held }.count == 34)
        let trip = try #require(try await StormBreakerTests.trips(f, tenant).first)
        #expect(trip.heldBack == 35)
        // The reopen slot of the same sender is a count of its own.
        let reopen = try await service.transaction(tenant: tenant) {
            try CaseSenderLimitQueries.caseSenderTake($0, tenant: tenant, account: accounts[0], sender: Self.peter, slot: .reopen)
        }
        #expect(reopen == .taken)
    }

    /// The interleaving that a check-then-write would get wrong, forced rather than hoped for: one
    /// transaction takes the last slot and stays open; a second take for the same sender waits on the
    /// row (seen in `pg_locks`) and, once the first commits, re-checks against the committed slots and
    /// holds the mail back.
    @Test func aTakeWaitingOnAnotherSeesItsSlotOnceItCommits() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "storm-lock")
        let (tenant, _) = try await f.tenant("storm-lock", accounts: [
            .init(name: "Support", mailbox: box, extra: ["case: {sender_limit: {cases: 2, window: 1h}}"]),
        ])
        let account = try await f.query(tenant) { try $0.query("SELECT id FROM mail_account").one().decode(AccountID.self, at: 0) }
        let sender = "lock-\(UUID().uuidString.lowercased())@initech.test"
        let take: @Sendable (PostgresConnection) throws -> CaseRouting.BreakerAnswer = {
            try CaseSenderLimitQueries.caseSenderTake($0, tenant: tenant, account: account, sender: sender, slot: .create)
        }
        #expect(try await f.query(tenant, take) == .taken)

        let pool = f.pool
        try await pool.withLeasedConnection { first in
            let pid: Int = try await first.thread.run {
                try first.executeScript("BEGIN; SELECT set_config('mailroom.tenant_id', '\(tenant.rawValue)', true)")
                #expect(try take(first) == .taken, "the last slot")
                return try first.query("SELECT pg_backend_pid()").one().decode(at: 0)
            }
            async let second = pool.transaction(tenant: tenant, take)
            let waiting = try await Eventually.until(timeout: .seconds(30)) {
                try await pool.withConnection { conn in
                    try conn.query("SELECT count(*)::int FROM pg_locks WHERE NOT granted AND \(pid) = ANY(pg_blocking_pids(pid))")
                        .one().decode(Int.self, at: 0) > 0
                }
            }
            #expect(waiting, "the second take waits for the first transaction")
            try await first.thread.run { try first.executeScript("COMMIT") }
            #expect(try await second == .tripped)
        }
        #expect(try await f.count(tenant, "SELECT cardinality(taken_at) FROM case_sender_limit") == 2)
    }

    @Test func theCRMReadsTheCountsButCannotWriteThem() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "storm-crm")
        let (tenant, _) = try await f.tenant("storm-crm", accounts: [.init(name: "Support", mailbox: box)])
        let account = try await f.query(tenant) { try $0.query("SELECT id FROM mail_account").one().decode(AccountID.self, at: 0) }
        _ = try await f.query(tenant) {
            try CaseSenderLimitQueries.caseSenderTake($0, tenant: tenant, account: account, sender: Self.peter, slot: .create)
        }
        let crm = try await TestDatabase.pool(as: .crm, connections: 1)
        #expect(try await crm.transaction(tenant: tenant) {
            try $0.query("SELECT count(*) FROM case_sender_limit").one().decode(Int.self, at: 0)
        } == 1)
        for sql in ["DELETE FROM case_sender_limit", "SELECT mailroom_case_sender_take(\(account.rawValue), 'x@y.test', 'create')"] {
            do {
                try await crm.transaction(tenant: tenant) { try $0.execute(SQL(unsafeSQL: sql)) }
                Issue.record("the CRM ran \(sql)")
            } catch let e as PostgresError {
                #expect(e.sqlState == "42501", "\(e)")
            }
        }
    }
}
