import Foundation

/// CPU time and peak memory of a running process, from /proc (Linux).
struct ProcessUsage {
    /// utime + stime in seconds (fields 14 and 15 of /proc/PID/stat, in clock ticks).
    var cpuSeconds: Double
    /// Peak resident set size in KiB (VmHWM in /proc/PID/status).
    var peakRSSKiB: Int

    static func read(pid: Int32) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may contain spaces) start at field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let hwm = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        return ProcessUsage(cpuSeconds: (utime + stime) / ticks, peakRSSKiB: hwm)
    }
}

/// Nearest-rank percentiles of a sample.
enum Percentile {
    static func of(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }
}

/// CPU time of a server and all its processes (Dovecot or PostgreSQL): the root's own and reaped
/// children's time (utime, stime, cutime, cstime) plus that of every live descendant. Children that
/// lived before a measurement and exit during it are counted whole (a small overcount).
enum ProcessTreeUsage {
    static func cpuSeconds(root: Int32) -> Double? {
        var parent: [Int32: Int32] = [:]
        var times: [Int32: Double] = [:]
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let f = stat[stat.index(after: close)...].split(separator: " ")
            guard f.count > 15, let ppid = Int32(f[1]) else { continue }
            let t = [f[11], f[12], f[13], f[14]].compactMap { Double($0) }.reduce(0, +)
            parent[pid] = ppid
            times[pid] = t / ticks
        }
        guard times[root] != nil else { return nil }
        func descends(_ pid: Int32) -> Bool {
            var p = pid
            for _ in 0..<16 { if p == root { return true }; guard let up = parent[p], up > 1 else { return false }; p = up }
            return false
        }
        return times.filter { descends($0.key) }.values.reduce(0, +)
    }

    /// The master process ids of the test servers, from the test environment's pid files.
    static func testServerRoots() -> [(name: String, pid: Int32)] {
        guard let dir = ProcessInfo.processInfo.environment["MAILROOM_TESTENV_DIR"] else { return [] }
        let files = [("dovecot", "\(dir)/dovecot/run/master.pid"), ("postgres", "\(dir)/pg/data/postmaster.pid")]
        return files.compactMap { name, path in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let pid = Int32(text.split(separator: "\n").first?.trimmingCharacters(in: .whitespaces) ?? "") else { return nil }
            return (name, pid)
        }
    }
}
