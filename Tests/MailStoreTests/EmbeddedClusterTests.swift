import Foundation
import Testing
@testable import MailStore

/// The zero-configuration cluster: created on first start, reachable only as a non-superuser, durable
/// across restarts.
@Suite struct EmbeddedClusterTests {
    /// Runs SQL through psql with the cluster's URL and returns the unaligned, tuples-only output.
    static func psql(_ url: String, _ sql: String) throws -> String {
        let bin = try #require(PostgresTools.findBinDirectory())
        let output = try ProcessOutput.run("\(bin)/psql", [url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        #expect(output.status == 0, "psql failed: \(output.stderr)")
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func startsStopsAndKeepsData() throws {
        let directory = NSTemporaryDirectory() + "mailroom-cluster-\(UUID().uuidString.prefix(8))"
        let cluster = EmbeddedCluster(directory: directory)
        defer {
            try? cluster.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(!cluster.isRunning)

        let url = try cluster.start()
        #expect(url.hasPrefix("postgresql://mailroom:"))
        #expect(url.contains("@127.0.0.1:"))
        #expect(cluster.isRunning)
        #expect(try cluster.start() == url)

        // The application's role must not escape row-level security.
        #expect(try Self.psql(url, "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user") == "mailroom|f|f")
        _ = try Self.psql(url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")

        try cluster.stop()
        #expect(!cluster.isRunning)
        try cluster.stop()

        // Same port, same password, same data after a restart.
        #expect(try cluster.start() == url)
        #expect(try Self.psql(url, "SELECT n FROM kept") == "42")
    }
}
