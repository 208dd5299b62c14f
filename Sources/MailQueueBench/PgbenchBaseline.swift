import Foundation
import MailStore
import MailTesting

/// The raw-SQL limit: pgbench running exactly the statements `JobRunner` runs, the claim
/// (`JobQueries.jobClaimSQL`) and the batched completion (`JobQueries.jobCompleteManySQL`), with
/// nothing in between. The script is generated from those statements, so it cannot drift from them.
struct PgbenchBaseline {
    let database: BenchDatabase
    let pgbench: String
    let workDirectory: URL

    /// Claims and completes `jobs` jobs with `clients` connections, `batch` jobs per claim.
    func measure(jobs: Int, clients: Int, batch: Int) async throws -> Measurement {
        let script = workDirectory.appendingPathComponent("claim-complete-\(batch).sql")
        try Self.script(batch: batch).write(to: script, atomically: true, encoding: .utf8)
        let perClient = (jobs + clients * batch - 1) / (clients * batch)
        let env = ProcessInfo.processInfo.environment
        let started = ContinuousClock.now
        let out = try BenchProcess.run(pgbench, ["-n", "-M", "prepared", "-D", "ids={}", "-D", "epochs={}", "-c", "\(clients)", "-j", "\(clients)",
                                                 "-t", "\(perClient)", "-f", script.path, database.url], environment: env)
        let elapsed = ContinuousClock.now - started
        guard out.status == 0 else { throw BenchError("pgbench failed: \(out.stderr.suffix(400))") }
        // Empty claims (a client racing for the last rows) do no work, and each client's last claim
        // stays uncompleted: count what was really done.
        let done = try await database.doneJobs()
        return Measurement(jobs: done, seconds: elapsed.seconds)
    }

    /// One pgbench transaction: the completion of the previous claim (`-D ids={}` starts it empty),
    /// then a claim whose ids and epochs are kept with `\gset` for the next one.
    static func script(batch: Int) -> String {
        let claim = JobQueries.jobClaimSQL(owner: "pgbench", limit: batch, perTenantCap: 1_000_000, lease: .seconds(300))
        var claimText = literalised(claim)
        let tail = "SELECT * FROM claimed"
        precondition(claimText.contains(tail), "the claim statement no longer ends with \(tail)")
        claimText = claimText.replacingOccurrences(of: tail, with: """
            SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_epoch), '{}') AS epochs FROM claimed \\gset
            """)
        let complete = JobQueries.jobCompleteManySQL([JobOutcome(id: 0, leaseEpoch: 0, result: .done)])
        let n = "cardinality(:ids::bigint[])"
        let completeText = substitute(complete.text, [
            1: ":ids", 2: ":epochs", 3: "array_fill('done'::text, ARRAY[\(n)])",
            4: "array_fill(NULL::timestamptz, ARRAY[\(n)])", 5: "array_fill(NULL::text, ARRAY[\(n)])",
        ])
        // The runner's turn (JobQueries.jobCompleteAndClaim): complete the previous claim, claim anew,
        // one transaction with an asynchronous commit.
        return """
            -- Generated from JobQueries.jobCompleteManySQL and jobClaimSQL, as jobCompleteAndClaim runs them.
            BEGIN;
            SET LOCAL synchronous_commit = off;
            \(completeText);
            \(claimText)
            COMMIT;

            """
    }

    /// The statement with each bound parameter written in as a quoted literal: the server resolves an
    /// untyped literal exactly as it resolves an untyped text parameter.
    static func literalised(_ sql: SQL) -> String {
        var values: [Int: String] = [:]
        for (i, b) in sql.binds.enumerated() {
            switch b {
            case .null: values[i + 1] = "NULL"
            case .text(let s): values[i + 1] = "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
            case .binary: preconditionFailure("binary parameters cannot be written as literals here")
            }
        }
        return substitute(sql.text, values)
    }

    /// Replaces `$n` placeholders, highest first so `$1` never eats the start of `$10`.
    static func substitute(_ text: String, _ values: [Int: String]) -> String {
        var out = text
        for (n, v) in values.sorted(by: { $0.key > $1.key }) { out = out.replacingOccurrences(of: "$\(n)", with: v) }
        return out
    }
}
