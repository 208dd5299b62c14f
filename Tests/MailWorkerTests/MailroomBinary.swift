import Foundation
import Testing

/// The `mailroom` executable built beside the test bundle.
enum MailroomBinary {
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
