import Foundation

/// The peer baseline: PgQueuer (Python, PyPI) doing the same work in a database of its own on the
/// same server, run by `scripts/bench/pgqueuer_bench.py` with PgQueuer's default batch size.
struct PgQueuerBaseline {
    let python: String
    let script: String

    /// Enqueues `jobs` no-op jobs into an empty database at `url` and drains them with `consumers`
    /// queue-manager processes.
    func measure(url: String, jobs: Int, consumers: Int) throws -> Measurement {
        let out = try BenchProcess.run(python, [script, url, "\(jobs)", "\(consumers)"])
        guard out.status == 0, let line = out.stdout.split(separator: "\n").last,
              let result = try? JSONDecoder().decode(Result.self, from: Data(line.utf8)) else {
            throw BenchError("pgqueuer benchmark failed: \(out.stderr.suffix(600))")
        }
        return Measurement(jobs: result.jobs, seconds: result.seconds)
    }

    private struct Result: Decodable { var jobs: Int; var seconds: Double }
}
