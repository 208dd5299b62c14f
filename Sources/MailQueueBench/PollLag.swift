import MailTesting
import Foundation
import MailCore
import MailStore

/// How late polls started, from `mail_poll_log`. A folder's poll is due one interval after its
/// previous poll finished (the job re-arms at completion); the first poll of each folder is due when
/// the replicas start. Polls still not started when the run ends count with the lag they had reached
/// by then (a lower bound), so a fleet that cannot keep up cannot hide its backlog.
enum PollLag {
    struct Sample { var tenant: TenantID; var lag: Double; var first: Bool; var overdue: Bool }

    static func load(_ db: BenchDatabase, tenants: [TenantID], interval: Double, start: Date, end: Date) async throws -> [Sample] {
        var rows: [(TenantID, Int64, Double?, Double?, String?)] = []
        // The folder and log tables force row-level security: read them tenant by tenant.
        for tenant in tenants {
            rows += try await db.pool.transaction(tenant: tenant) { conn in
                try conn.query("""
                    SELECT f.tenant_id, f.id, extract(epoch FROM l.started_at)::float8, extract(epoch FROM l.finished_at)::float8, l.error
                    FROM mail_folder f LEFT JOIN mail_poll_log l ON l.tenant_id = f.tenant_id AND l.folder_id = f.id
                    WHERE f.tenant_id = \(tenant)
                    ORDER BY f.id, l.started_at
                    """).map { (try $0.decode(TenantID.self, at: 0), try $0.decode(Int64.self, at: 1),
                                try $0.decode(Double?.self, at: 2), try $0.decode(Double?.self, at: 3), try $0.decode(String?.self, at: 4)) }
            }
        }
        let failed = rows.filter { $0.4 != nil }
        if let example = failed.first?.4 { log("\(failed.count) polls failed, e.g.: \(example.prefix(200))") }
        let t0 = start.timeIntervalSince1970, tEnd = end.timeIntervalSince1970
        var samples: [Sample] = []
        var i = 0
        while i < rows.count {
            let (tenant, folder, _, _, _) = rows[i]
            var due = t0, first = true
            while i < rows.count && rows[i].1 == folder && rows[i].0 == tenant {
                if let s = rows[i].2, let f = rows[i].3 {
                    samples.append(Sample(tenant: tenant, lag: max(0, s - due), first: first, overdue: false))
                    due = f + interval
                    first = false
                }
                i += 1
            }
            if due < tEnd { samples.append(Sample(tenant: tenant, lag: tEnd - due, first: first, overdue: true)) }
        }
        return samples
    }

    static func report(_ samples: [Sample], fleet: [PollFleet.Tenant], sizes: [Int], duration: Double,
                       usage: [(ProcessUsage?, ProcessUsage?)], replicas: Int, concurrency: Int) -> String {
        let largest = fleet[0].id
        let smallIDs = Set(fleet.filter { $0.accounts <= 5 }.map(\.id))
        func line(_ name: String, _ s: [Sample]) -> String {
            let lags = s.map(\.lag)
            func f(_ p: Double) -> String { Percentile.of(lags, p).map { String(format: "%.2f", $0) } ?? "-" }
            return "\(name) | \(s.count) | \(s.filter(\.overdue).count) | \(f(50)) | \(f(99)) | \(f(100))"
        }
        let steady = samples.filter { !$0.first }
        let polls = samples.filter { !$0.overdue }.count
        var out = String(format: "%d polls in %.0f s (%.1f polls/s), %d replicas × %d slots\n",
                         polls, duration, Double(polls) / duration, replicas, concurrency)
        out += "poll lag, seconds | polls | overdue at end | p50 | p99 | max\n"
        out += line("all (incl. first sweep)", samples) + "\n"
        out += line("steady state (after each folder's first poll)", steady) + "\n"
        out += line("largest tenant (\(sizes[0]) accounts), steady", steady.filter { $0.tenant == largest }) + "\n"
        out += line("smallest tenants (1–5 accounts), steady", steady.filter { smallIDs.contains($0.tenant) }) + "\n"
        out += line("first poll after start", samples.filter(\.first)) + "\n"
        // A p99 of ~60 samples is their maximum, of ~10,000 the 100th worst: not comparable. Drawing the
        // small group's sample size from the largest tenant many times gives its p99 on equal terms.
        let big = steady.filter { $0.tenant == largest }.map(\.lag)
        let smallCount = steady.filter { smallIDs.contains($0.tenant) }.count
        if let matched = matchedP99(big, sampleSize: smallCount) {
            out += String(format: "largest tenant p99 at the smallest tenants' sample size (%d polls; median of 1,000 draws): %.2f\n",
                          smallCount, matched)
        }
        out += "replica | CPU s | CPU % of one core | peak RSS MiB\n"
        for (i, (a, b)) in usage.enumerated() {
            guard let a, let b else { out += "\(i) | - | - | -\n"; continue }
            let cpu = b.cpuSeconds - a.cpuSeconds
            out += String(format: "%d | %.1f | %.0f | %.1f\n", i, cpu, 100 * cpu / duration, Double(b.peakRSSKiB) / 1024)
        }
        return out
    }

    /// The median, over 1,000 random draws of `sampleSize` values (without replacement), of each draw's
    /// p99. Deterministic (fixed seed), so two runs differ only by their data.
    static func matchedP99(_ values: [Double], sampleSize: Int) -> Double? {
        guard sampleSize > 0, values.count >= sampleSize else { return nil }
        var rng = SplitMix64(seed: 0x5EED)
        var p99s: [Double] = []
        var pool = values
        for _ in 0..<1_000 {
            // Partial Fisher–Yates: the first `sampleSize` entries become a uniform random sample.
            for i in 0..<sampleSize {
                let j = i + Int(rng.next() % UInt64(pool.count - i))
                pool.swapAt(i, j)
            }
            p99s.append(Percentile.of(Array(pool[0..<sampleSize]), 99)!)
        }
        return Percentile.of(p99s, 50)
    }
}

