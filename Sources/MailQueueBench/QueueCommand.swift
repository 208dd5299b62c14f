import ArgumentParser
import Foundation
import MailCore
import MailTesting

/// `mailroom-queue-bench queue`: claim-and-complete throughput of `JobRunner` beside the raw-SQL
/// limit (pgbench running the same statements) and PgQueuer, all in one run on one server.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Claim and complete no-op jobs: JobRunner vs pgbench vs PgQueuer.")

    @Option(help: "No-op jobs per measurement.")
    var jobs = 100_000

    @Option(help: "Tenants the jobs are spread over.")
    var tenants = 4

    @Option(parsing: .upToNextOption, help: "Slot counts (runner slots, pgbench clients, PgQueuer consumers).")
    var slots: [Int] = [1, 4]

    @Option(help: "Python with pgqueuer and asyncpg installed (skip PgQueuer when empty).")
    var python = ""

    @Option(help: "The PgQueuer driver script.")
    var pgqueuerScript = "scripts/bench/pgqueuer_bench.py"

    @Option(help: "Write the results as JSON here too.")
    var json: String?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let pgbench = BenchProcess.locate("pgbench", candidates: [env["MAILROOM_TEST_PG_BIN"].map { "\($0)/pgbench" } ?? ""]) else {
            throw BenchError("pgbench not found (postgresql-contrib / the server's bin directory)")
        }
        let db = try await BenchDatabase.make(migrated: true)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-queue-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var rows: [QueueResult] = []
        do {
            let tenantIDs = try await db.makeTenants(tenants, prefix: "qbench")
            let raw = PgbenchBaseline(database: db, pgbench: pgbench, workDirectory: work)
            for n in slots {
                var row = QueueResult(slots: n)
                try await db.refillQueue(kind: "noop", count: jobs, tenants: tenantIDs)
                row.mailroom = try await RunnerThroughput(database: db).measure(jobs: jobs, slots: n)
                log("mailroom  slots=\(n): \(row.mailroom!.summary)")
                // Raw limit, same batch as the runner's claims: one statement claims up to the free slots.
                try await db.refillQueue(kind: "noop", count: jobs, tenants: tenantIDs)
                row.rawBatch = try await raw.measure(jobs: jobs, clients: 1, batch: n)
                log("pgbench   clients=1 batch=\(n): \(row.rawBatch!.summary)")
                if n > 1 {
                    try await db.refillQueue(kind: "noop", count: jobs, tenants: tenantIDs)
                    row.rawClients = try await raw.measure(jobs: jobs, clients: n, batch: 1)
                    log("pgbench   clients=\(n) batch=1: \(row.rawClients!.summary)")
                }
                if !python.isEmpty {
                    let pgq = try await BenchDatabase.make(migrated: false, connections: 1)
                    do {
                        row.pgqueuer = try PgQueuerBaseline(python: python, script: pgqueuerScript)
                            .measure(url: pgq.url, jobs: jobs, consumers: n)
                        log("pgqueuer  consumers=\(n): \(row.pgqueuer!.summary)")
                    } catch {
                        await pgq.drop()
                        throw error
                    }
                    await pgq.drop()
                }
                rows.append(row)
            }
        } catch {
            await db.drop()
            try? FileManager.default.removeItem(at: work)
            throw error
        }
        await db.drop()
        try? FileManager.default.removeItem(at: work)
        print(QueueResult.table(rows, jobs: jobs, tenants: tenants))
        if let json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(rows).write(to: URL(fileURLWithPath: json))
        }
    }
}

func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

extension Measurement {
    var summary: String { String(format: "%d jobs in %.2f s = %.0f jobs/s", jobs, seconds, jobsPerSecond) }
}

/// One slot count's figures and the ratios the targets are stated in.
struct QueueResult: Codable {
    var slots: Int
    var mailroom: Measurement?
    /// pgbench, one client claiming `slots` jobs per statement (the runner's own batch).
    var rawBatch: Measurement?
    /// pgbench, `slots` clients claiming one job each (only for slots > 1).
    var rawClients: Measurement?
    var pgqueuer: Measurement?

    /// The raw limit: the better of the two pgbench shapes.
    var rawLimit: Double { max(rawBatch?.jobsPerSecond ?? 0, rawClients?.jobsPerSecond ?? 0) }

    static func table(_ rows: [QueueResult], jobs: Int, tenants: Int) -> String {
        func rate(_ m: Measurement?) -> String { m.map { String(format: "%.0f", $0.jobsPerSecond) } ?? "-" }
        func ratio(_ a: Double?, _ b: Double?) -> String {
            guard let a, let b, b > 0 else { return "-" }
            return String(format: "%.2f", a / b)
        }
        var out = "claim + complete, \(jobs) no-op jobs over \(tenants) tenants (jobs/s)\n"
        out += "slots | mailroom | pgbench 1 client × batch | pgbench N clients × 1 | pgqueuer | mailroom/raw | mailroom/pgqueuer\n"
        for r in rows {
            let ours = r.mailroom?.jobsPerSecond
            out += "\(r.slots) | \(rate(r.mailroom)) | \(rate(r.rawBatch)) | \(rate(r.rawClients)) | \(rate(r.pgqueuer)) | "
            out += "\(ratio(ours, r.rawLimit)) | \(ratio(ours, r.pgqueuer?.jobsPerSecond))\n"
        }
        return out
    }
}

/// `mailroom-queue-bench pgbench-script`: prints the raw-SQL baseline's pgbench script, to read or
/// to run by hand (`pgbench -n -M prepared -D ids={} -D epochs={} -f FILE`).
struct PgbenchScriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pgbench-script",
                                                    abstract: "Print the pgbench script of the raw-SQL baseline.")
    @Option(help: "Jobs per claim.")
    var batch = 1

    func run() { print(PgbenchBaseline.script(batch: batch), terminator: "") }
}
