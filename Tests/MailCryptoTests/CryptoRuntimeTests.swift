import Foundation
import Testing

/// A process that returns from `main` while other threads still use libcrypto exits cleanly once
/// `CryptoRuntime.disableExitCleanup()` ran first; with OpenSSL's default exit handler the same
/// process dies of a signal (a stopped worker once exited with SIGSEGV instead of 0).
@Suite struct CryptoRuntimeTests {
    static let runs = 40

    /// The probe built beside the test bundle (`Sources/MailExitProbe`).
    static var probe: String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("MailExitProbe").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return dir.appendingPathComponent("MailExitProbe").path
    }

    /// Each run's termination: its exit status, or the signal that ended it.
    static func run(_ arguments: [String]) throws -> [String] {
        try (0..<runs).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: probe)
            p.arguments = arguments
            // A crash ends the probe at once instead of after Swift's backtracer (seconds per crash).
            p.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationReason == .uncaughtSignal ? "signal \(p.terminationStatus)" : "exit \(p.terminationStatus)"
        }
    }

    @Test func exitingWhileOtherThreadsHashIsClean() throws {
        let outcomes = try Self.run([])
        #expect(outcomes.allSatisfy { $0 == "exit 0" }, "\(outcomes)")
    }

    /// The probe does reach the hazard: without the call, some of the same runs crash.
    @Test func withOpenSSLsExitHandlerTheSameProbeCrashes() throws {
        let outcomes = try Self.run(["--default-cleanup"])
        #expect(outcomes.contains { $0.hasPrefix("signal") }, "\(outcomes)")
    }
}
