import Foundation
import Synchronization

/// The `mailroom worker` replicas of a run: started, killed, stopped and restarted by slot, each slot
/// appending to a log file of its own. All methods block (they wait for processes): call them from a
/// thread of their own, never from the cooperative pool.
final class ReplicaSet: Sendable {
    struct Counts: Sendable {
        var starts = 0, sigkills = 0, sigterms = 0, badExits = 0
    }

    private struct State {
        var processes: [Process?]
        var counts = Counts()
        var badExitDetails: [String] = []
    }

    let executable: String
    let arguments: [String]
    let logDirectory: String
    private let state: Mutex<State>

    init(executable: String, arguments: [String], size: Int, logDirectory: String) {
        self.executable = executable
        self.arguments = arguments
        self.logDirectory = logDirectory
        self.state = Mutex(State(processes: Array(repeating: nil, count: size)))
    }

    var size: Int { state.withLock { $0.processes.count } }
    var counts: Counts { state.withLock { $0.counts } }
    var badExitDetails: [String] { state.withLock { $0.badExitDetails } }
    var pids: [Int32] { state.withLock { $0.processes.compactMap { $0?.processIdentifier } } }

    func logPath(_ slot: Int) -> String { "\(logDirectory)/replica-\(slot + 1).log" }

    /// Starts the slot's replica unless one runs; its stderr goes to the slot's log (appended).
    func start(_ slot: Int) throws {
        if state.withLock({ $0.processes[slot]?.isRunning ?? false }) { return }
        let path = logPath(slot)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: path) else { throw ChaosError("cannot open \(path)") }
        log.seekToEndOfFile()
        log.write(Data("=== start \(Date()) ===\n".utf8))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = log
        try p.run()
        try? log.close()
        state.withLock { $0.processes[slot] = p; $0.counts.starts += 1 }
    }

    func startAll() throws { for slot in 0..<size { try start(slot) } }

    /// SIGKILL: the replica dies mid-job; its leases expire and another replica takes the work over.
    func kill(_ slot: Int) {
        guard let p = state.withLock({ $0.processes[slot] }), p.isRunning else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        state.withLock { $0.processes[slot] = nil; $0.counts.sigkills += 1 }
    }

    /// SIGTERM: a graceful stop, which must end with exit status 0. Returns that status.
    @discardableResult
    func terminate(_ slot: Int) -> Int32? {
        guard let p = state.withLock({ $0.processes[slot] }), p.isRunning else { return nil }
        Glibc.kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let status = p.terminationStatus
        let reason = p.terminationReason
        state.withLock { s in
            s.processes[slot] = nil
            s.counts.sigterms += 1
            if status != 0 || reason != .exit {
                s.counts.badExits += 1
                s.badExitDetails.append("replica \(slot + 1) (pid \(p.processIdentifier)) exited with \(reason == .exit ? "status" : "signal") \(status) after SIGTERM")
            }
        }
        return status
    }

    /// Any replica that died on its own (not by our hand) is a finding too: returns and forgets them.
    func reapUnexpectedExits() -> [String] {
        state.withLock { s in
            var found: [String] = []
            for (i, p) in s.processes.enumerated() {
                if let p, !p.isRunning {
                    found.append("replica \(i + 1) (pid \(p.processIdentifier)) exited by itself with \(p.terminationStatus)")
                    s.processes[i] = nil
                }
            }
            s.badExitDetails += found
            s.counts.badExits += found.count
            return found
        }
    }

    /// Last resort on the way out (an error or Ctrl-C): nothing of ours keeps running.
    func killAll() {
        for slot in 0..<size { kill(slot) }
    }
}

struct ChaosError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
