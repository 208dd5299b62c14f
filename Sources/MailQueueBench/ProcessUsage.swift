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
