import Foundation

/// `mailroom worker` processes against one database, each logging to a file of its own, stopped by
/// their pid (SIGTERM, then SIGKILL after a grace period).
final class WorkerFleet {
    let binary: String
    let logDirectory: String
    private(set) var processes: [Process] = []

    init(binary: String, logDirectory: String) {
        self.binary = binary
        self.logDirectory = logDirectory
    }

    /// Starts `count` workers (with `extraArguments` for `mailroom worker`) and waits until each has
    /// logged that it started.
    func start(count: Int, databaseURL: String, migrations: String, slots: Int, perTenantCap: Int,
               extraArguments: [String] = []) async throws {
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        for i in 0..<count {
            let log = "\(logDirectory)/worker-\(i).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["worker", "--database-url", databaseURL, "--migrations", migrations, "--concurrency", "\(slots)",
                           "--per-tenant-cap", "\(perTenantCap)", "--shutdown-deadline", "5", "--log-level", "info"] + extraArguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle(forWritingAtPath: log)
            try p.run()
            processes.append(p)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        for (i, p) in processes.enumerated() {
            let log = "\(logDirectory)/worker-\(i).log"
            while !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("worker started") ?? false) {
                guard p.isRunning else { throw BenchFailure("worker \(i) exited with \(p.terminationStatus); see \(log)") }
                guard ContinuousClock.now < deadline else { throw BenchFailure("worker \(i) did not start; see \(log)") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// SIGTERM to each worker, SIGKILL to any still running after 15 s; returns the exit statuses.
    @discardableResult
    func stop() -> [Int32] {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(15)
        while processes.contains(where: \.isRunning) && Date() < deadline { usleep(50_000) }
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        let statuses = processes.map { $0.waitUntilExit(); return $0.terminationStatus }
        processes = []
        return statuses
    }

    /// The process id of worker `index`.
    func pid(_ index: Int) -> Int32 { processes[index].processIdentifier }

    deinit { stop() }
}
