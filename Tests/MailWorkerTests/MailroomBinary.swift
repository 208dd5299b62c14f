import Foundation
import MailTesting
import Testing

/// The `mailroom` executable built beside the test bundle.
enum MailroomBinary {
    struct Run { var status: Int32; var stdout: String; var stderr: String }

    /// Runs `mailroom ARGS` against the shared test database (unless `env` says otherwise) and
    /// collects its output. The process is waited for on a thread of its own: a blocking wait on the
    /// cooperative pool (two threads on a two-core machine) would stall every other test of the run
    /// for as long as the command takes (`worker --until-idle` takes seconds).
    static func run(_ args: [String], env: [String: String] = [:]) async throws -> Run {
        var environment = ProcessInfo.processInfo.environment
        environment["MAILROOM_DATABASE_URL"] = try TestDatabase.url()
        environment["MAILROOM_MIGRATIONS"] = TestDatabase.migrationsDirectory
        for (k, v) in env { environment[k] = v }
        let finalEnvironment = environment
        return try await withCheckedThrowingContinuation { (done: CheckedContinuation<Run, any Error>) in
            Thread {
                done.resume(with: Result { try runBlocking(args, environment: finalEnvironment) })
            }.start()
        }
    }

    private static func runBlocking(_ args: [String], environment: [String: String]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static var path: String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("mailroom").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return dir.appendingPathComponent("mailroom").path
    }

}

/// Suites that run `mailroom worker` processes, one suite at a time: each starts several replicas,
/// and running them side by side on a 2-core machine only makes every timing in them noisier.
@Suite(.serialized) struct WorkerProcessTests {}
