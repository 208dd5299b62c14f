import ArgumentParser
import Foundation
import Logging
import MailCore
import MailIO
import MailCrypto
import MailProtocol
import MailStore
import MailTesting
import MailTransport
import MailWorker

/// `mailroom-bench ingest`: end-to-end import rate (Dovecot → Postgres, one worker) against the
/// IMAP-only floor, measured in the same run, round by round.
///
/// Setup (untimed): N generated messages delivered once into a fresh Dovecot mailbox and marked
/// `\Seen` (the libcurl baseline's URL fetches set `\Seen`, so every timed pass then sees the same flags).
/// Each round, in alternating order so that the machine's noise hits both alike:
/// - floor: one `IMAPSession`, one connection, login to last byte, storing nothing — pipelined
///   batches of `UID FETCH … BODY.PEEK[]` (`fetchMessages`, as the importer fetches) and,
///   for comparison, libcurl's one URL fetch per message (`CurlIMAPBaseline`, the old importer's
///   way); the faster counts;
/// - end to end: a fresh tenant with a group account on the mailbox (as the worker tests provision
///   it), `ImportRunner.pollAccountUntilIdle` with default `ImportSettings`, timed until it returns;
///   then the tenant's email count must equal N.
/// With `--compare-events`, each round also imports into a tenant with events switched off
/// (`tenant.events_enabled` false), in alternating order with the one with events on, and reports the
/// rate with events beside the rate without (docs/events.md).
/// With `--compare-reports`, a second mailbox holds the same corpus with a share of its small text
/// messages replaced by delivery reports (`--report-share`, default 20 %), each returning an email the
/// round's tenant sent (provisioned untimed, `BenchReports`); each round imports it too, in
/// alternating order with the plain mix, and reports its rate beside the plain mix's (docs/bounces.md).
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Messages/s from Dovecot to Postgres with one worker, beside the IMAP-only floor.")

    @Option(help: "Messages to generate and import.")
    var messages = 10_000

    @Option(help: "Measurement rounds (floor and end to end each round).")
    var rounds = 3

    @Option(help: "Generator seed: the same seed gives the same messages.")
    var seed: UInt64 = 20_250_101

    @Option(help: "Target end-to-end rate, messages/s (reported, not enforced).")
    var targetRate = 1_000.0

    @Option(help: "Target end-to-end share of the floor (reported, not enforced).")
    var targetRatio = 0.5

    @Option(help: "Number of the first round: a caller that runs one round per call passes its round, so the order still alternates.")
    var firstRound = 1

    @Flag(help: "Each round, also import with the tenant's events off, and report the rate with events beside it.")
    var compareEvents = false

    @Flag(help: "With --compare-events: the tenant with events also has a webhook endpoint on a local receiver, delivered by a webhook runner in this process while it imports.")
    var withWebhooks = false

    @Option(help: "With --with-webhooks: events per POST of the endpoint (its `batch`; 1 sends each event alone).")
    var webhookBatch = 1

    @Option(help: "Target rate with events as a share of the rate without (reported, not enforced; with --compare-events).")
    var targetEventsRatio = 0.9

    @Flag(help: "Each round, also import a corpus with --report-share delivery reports that tie to sent emails, and report its rate beside the plain mix's.")
    var compareReports = false

    @Option(help: "With --compare-reports: the share of the corpus that is delivery reports, in steps of 0.05, at most 0.6.")
    var reportShare = 0.2

    @Option(help: "Target rate of the mix with reports as a share of the plain mix's (reported, not enforced; with --compare-reports).")
    var targetReportsRatio = 0.9

    func validate() throws {
        guard messages > 0, rounds > 0, firstRound > 0 else { throw ValidationError("--messages, --rounds and --first-round must be positive") }
        guard !withWebhooks || compareEvents else { throw ValidationError("--with-webhooks needs --compare-events") }
        let steps = reportShare * 20
        guard reportShare > 0, reportShare <= MessageGenerator.maxReportShare, abs(steps - steps.rounded()) < 1e-9 else {
            throw ValidationError("--report-share must be a multiple of 0.05 between 0.05 and \(MessageGenerator.maxReportShare)")
        }
        guard (1...1000).contains(webhookBatch) else { throw ValidationError("--webhook-batch must be between 1 and 1000") }
    }

    func run() async throws {
        let bench = try await BenchImport.fromEnvironment()
        let (server, pool, runner) = (bench.server, bench.pool, bench.runner)

        // Generate and deliver.
        let generator = MessageGenerator(seed: seed)
        var corpus: [[UInt8]] = []
        corpus.reserveCapacity(messages)
        var kinds: [MessageGenerator.Kind: Int] = [:]
        for i in 0..<messages {
            corpus.append(generator.message(i))
            kinds[generator.kind(of: i), default: 0] += 1
        }
        let totalBytes = corpus.reduce(0) { $0 + $1.count }
        let mailbox = try server.createMailbox(prefix: "bench")
        let deliverStart = ContinuousClock.now
        try server.deliverToMaildir(mailbox, messages: corpus)
        let delivered = try server.messageCount(mailbox)
        guard delivered == messages else { throw BenchFailure("Dovecot holds \(delivered) messages, expected \(messages)") }
        corpus = []
        print("corpus: \(messages) messages, \(totalBytes / 1024) KiB (mean \(totalBytes / messages) B); "
            + MessageGenerator.Kind.allCases.map { "\($0.rawValue) \(kinds[$0, default: 0])" }.joined(separator: ", "))
        print("delivered to \(mailbox.address) in \(Self.seconds(ContinuousClock.now - deliverStart)) s")

        // The mix with reports: the same corpus, a share of its plain messages replaced.
        let reportIndices = compareReports ? (0..<messages).filter { generator.isReport($0, share: reportShare) } : []
        var reportsMailbox: TestMailbox?
        if compareReports {
            let mixed = (0..<messages).map { generator.isReport($0, share: reportShare) ? generator.report($0) : generator.message($0) }
            let box = try server.createMailbox(prefix: "bench-reports")
            try server.deliverToMaildir(box, messages: mixed)
            let count = try server.messageCount(box)
            guard count == messages else { throw BenchFailure("Dovecot holds \(count) messages with reports, expected \(messages)") }
            print("mix with reports: \(reportIndices.count) delivery reports (\(Int(reportShare * 100)) %), "
                + "\(mixed.reduce(0) { $0 + $1.count } / 1024) KiB, delivered to \(box.address)")
            reportsMailbox = box
        }

        let endpoint = server.endpoint(for: mailbox)
        for box in [mailbox] + (reportsMailbox.map { [$0] } ?? []) {
            let prep = try await IMAPConnection(endpoint: server.endpoint(for: box), threadName: "bench-prep")
            try await prep.run { s in
                let uids = try s.searchUIDs("INBOX", after: nil)
                try s.replaceFlags("INBOX", uids: UIDSet(uids), flags: ["\\Seen"])
            }
            prep.close()
        }

        let provisioner = bench.provisioner
        let hooks = withWebhooks ? try await BenchWebhooks.start(pool: pool, key: bench.key) : nil
        defer { hooks?.stop() }
        var results: [RoundResult] = []
        var countFailures: [String] = []
        for round in firstRound..<(firstRound + rounds) {
            var r = RoundResult(round: round)
            // Alternate the order: noise and warm caches favour neither side.
            let floorFirst = round % 2 == 1
            if floorFirst { try await measureFloor(endpoint, bytes: totalBytes, into: &r) }
            // The plain mix with events first in odd rounds, the variants compared with it first in even ones.
            var variants: [Variant] = [.plain]
            if compareEvents { variants.append(.eventsOff) }
            if compareReports { variants.append(.reports) }
            for variant in floorFirst ? variants : variants.reversed() {
                let events = variant != .eventsOff
                let tenant = try await provisioner.tenant(mailbox: variant == .reports ? reportsMailbox! : mailbox, events: events)
                if variant == .plain, let hooks { try await hooks.addEndpoint(tenant: tenant, batchSize: webhookBatch) }
                if variant == .reports { try await BenchReports.provisionOutbound(pool: pool, tenant: tenant, indices: reportIndices) }
                let account = try await provisioner.account(of: tenant)
                let receiverCPU = hooks?.receiver.cpuSeconds
                let start = ContinuousClock.now
                let reports = await runner.pollAccountUntilIdle(account)
                let elapsed = Self.seconds(ContinuousClock.now - start)
                switch variant {
                case .plain: r.endToEnd = elapsed
                case .eventsOff: r.withoutEvents = elapsed
                case .reports: r.withReports = elapsed
                }
                // The receiver's CPU during the import with events: work no deployment runs beside its workers.
                if variant == .plain, let before = receiverCPU, let after = hooks?.receiver.cpuSeconds { r.receiverCPU = after - before }
                // Deliveries still under way would weigh on the next measurement: wait for them, untimed.
                if variant == .plain, let hooks { try await hooks.waitDelivered(tenant: tenant) }
                // The mix with reports also holds the sent emails they return.
                let expected = messages + (variant == .reports ? reportIndices.count : 0)
                let stored = try await pool.transaction(tenant: tenant) { try EmailQueries.emailCount($0, tenant: tenant) }
                if variant == .plain { r.stored = stored }
                if variant == .reports {
                    r.bounced = try await pool.transaction(tenant: tenant) {
                        try EmailBounceQueries.emailBounceCountTied($0, tenant: tenant)
                    }
                    if r.bounced != reportIndices.count {
                        countFailures.append("round \(round) (reports): \(r.bounced ?? 0) reports tied, expected \(reportIndices.count)")
                    }
                }
                if stored != expected {
                    let errors = reports.compactMap(\.error)
                    countFailures.append("round \(round) (\(variant.rawValue)): \(stored) emails stored, expected \(expected)"
                        + (errors.isEmpty ? "" : " (errors: \(errors.joined(separator: "; ")))"))
                }
            }
            if !floorFirst { try await measureFloor(endpoint, bytes: totalBytes, into: &r) }
            results.append(r)
            print(r.line(messages))
        }
        printSummary(results)
        guard countFailures.isEmpty else {
            throw BenchFailure("end-to-end count check failed:\n" + countFailures.joined(separator: "\n"))
        }
    }

    // MARK: Floor

    private func measureFloor(_ endpoint: IMAPEndpoint, bytes expected: Int, into r: inout RoundResult) async throws {
        let n = messages
        let batched = try await IMAPConnection(endpoint: endpoint, threadName: "bench-floor-batch")
        let start = ContinuousClock.now
        let (count, received, uids) = try await batched.run { s in
            let (count, bytes) = try s.fetchAllBodiesForBenchmark(folder: "INBOX")
            return (count, bytes, try s.searchUIDs("INBOX", after: nil))
        }
        r.batchedFloor = Self.seconds(ContinuousClock.now - start)
        batched.close()
        guard count == n, received == expected else {
            throw BenchFailure("batched floor fetched \(count) messages, \(received) bytes; expected \(n), \(expected)")
        }

        // The old way, for comparison: libcurl, one URL per message (sets \Seen; the corpus is \Seen already).
        let thread = IOThread(name: "bench-floor-url")
        defer { thread.stop() }
        let urlStart = ContinuousClock.now
        let (urlCount, urlBytes) = try await thread.run {
            try CurlIMAPBaseline(endpoint: endpoint).fetchEach(folder: "INBOX", uids: uids)
        }
        r.urlFloor = Self.seconds(ContinuousClock.now - urlStart)
        guard urlCount == n, urlBytes == expected else {
            throw BenchFailure("URL floor fetched \(urlCount) messages, \(urlBytes) bytes; expected \(n), \(expected)")
        }
    }

    // MARK: Report

    /// What a round imports: the plain mix (with events), with events off, or the mix with reports.
    enum Variant: String { case plain, eventsOff = "events off", reports }

    struct RoundResult {
        var round: Int
        var batchedFloor = 0.0, urlFloor = 0.0, endToEnd = 0.0
        /// End to end into a tenant with events off (`--compare-events`), else nil.
        var withoutEvents: Double?
        /// End to end of the mix with delivery reports (`--compare-reports`), else nil.
        var withReports: Double?
        /// Reports of that mix tied to a sent email.
        var bounced: Int?
        /// CPU seconds the webhook receiver used during the import with events (`--with-webhooks`).
        var receiverCPU: Double?
        var stored = 0

        /// The floor is the faster of the two fetch strategies.
        var floor: Double { min(batchedFloor, urlFloor) }

        func line(_ n: Int) -> String {
            let f = Double(n) / floor, e = Double(n) / endToEnd
            let line = String(format: "round %d: batched %7.0f msg/s, per-URL %7.0f msg/s, floor %7.0f msg/s, "
                + "end-to-end %7.0f msg/s (%d stored), ratio %.2f",
                round, Double(n) / batchedFloor, Double(n) / urlFloor, f, e, stored, e / f)
            var out = line
            if let off = withoutEvents {
                let receiver = receiverCPU.map { String(format: ", receiver CPU %.2f s of %.2f s", $0, endToEnd) } ?? ""
                out += String(format: ", events off %7.0f msg/s, with/without events %.2f", Double(n) / off, off / endToEnd) + receiver
            }
            if let mixed = withReports {
                out += String(format: ", with reports %7.0f msg/s (%d tied), with/without reports %.2f", Double(n) / mixed, bounced ?? 0,
                              endToEnd / mixed)
            }
            return out
        }
    }

    private func printSummary(_ results: [RoundResult]) {
        let n = Double(messages)
        print("")
        print("| round | batched UID FETCH msg/s | per-message URL msg/s | floor msg/s | end-to-end msg/s | end-to-end / floor |")
        print("|------:|------:|------:|------:|------:|------:|")
        for r in results {
            print(String(format: "| %d | %.0f | %.0f | %.0f | %.0f | %.2f |", r.round, n / r.batchedFloor, n / r.urlFloor,
                         n / r.floor, n / r.endToEnd, r.floor / r.endToEnd))
        }
        let floor = Self.median(results.map { n / $0.floor })
        let e2e = Self.median(results.map { n / $0.endToEnd })
        let ratio = Self.median(results.map { $0.floor / $0.endToEnd })
        print(String(format: "| median | %.0f | %.0f | %.0f | %.0f | %.2f |", Self.median(results.map { n / $0.batchedFloor }),
                     Self.median(results.map { n / $0.urlFloor }), floor, e2e, ratio))
        print("")
        print("target end-to-end ≥ \(Int(targetRate)) msg/s: \(e2e >= targetRate ? "met" : "NOT met")"
            + String(format: " (median %.0f msg/s)", e2e))
        print("target end-to-end ≥ \(Int(targetRatio * 100)) % of the floor: \(ratio >= targetRatio ? "met" : "NOT met")"
            + String(format: " (median ratio %.2f)", ratio))
        printComparison(results.compactMap { r in r.withoutEvents.map { (r.round, n / $0, n / r.endToEnd, $0 / r.endToEnd) } },
                        columns: ("events off msg/s", "events on msg/s", "on / off"),
                        target: "with events ≥ \(Int(targetEventsRatio * 100)) % of without", ratio: targetEventsRatio)
        printComparison(results.compactMap { r in r.withReports.map { (r.round, n / r.endToEnd, n / $0, r.endToEnd / $0) } },
                        columns: ("plain mix msg/s", "\(Int(reportShare * 100)) % reports msg/s", "reports / plain"),
                        target: "with reports ≥ \(Int(targetReportsRatio * 100)) % of the plain mix", ratio: targetReportsRatio)
    }

    /// A variant beside its baseline, per round (baseline rate, variant rate, share) and median, with
    /// whether the median share meets `ratio`; nothing when the variant was not run.
    private func printComparison(_ rows: [(round: Int, baseline: Double, variant: Double, share: Double)],
                                 columns: (String, String, String), target: String, ratio: Double) {
        guard !rows.isEmpty else { return }
        print("")
        print("| round | \(columns.0) | \(columns.1) | \(columns.2) |")
        print("|------:|------:|------:|------:|")
        for r in rows { print(String(format: "| %d | %.0f | %.0f | %.2f |", r.round, r.baseline, r.variant, r.share)) }
        let share = Self.median(rows.map(\.share))
        print(String(format: "| median | %.0f | %.0f | %.2f |", Self.median(rows.map(\.baseline)), Self.median(rows.map(\.variant)), share))
        print("target \(target): \(share >= ratio ? "met" : "NOT met")" + String(format: " (median ratio %.2f)", share))
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func seconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) + Double(atto) / 1e18
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
