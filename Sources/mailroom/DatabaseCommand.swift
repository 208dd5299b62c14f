import ArgumentParser
import Foundation
import MailStore

/// `mailroom db start|stop|status|url`: the embedded PostgreSQL cluster that serves as the database when no
/// `MAILROOM_DATABASE_URL` is given. These commands act on the cluster under `--home` (`$MAILROOM_HOME`, else
/// `./.mailroom`) whatever database URL is configured: they never touch an external database.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Start, stop or inspect the embedded PostgreSQL cluster (the default database, under ./.mailroom).",
        subcommands: [Start.self, Stop.self, Status.self, URLCommand.self]
    )

    /// Creates the cluster on first use (initdb) and starts it; prints where it listens.
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start", abstract: "Create the cluster on first use and start it (does nothing when it runs).")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let cluster = EmbeddedCluster(directory: global.homeDirectory)
            let wasRunning = cluster.isRunning
            let url = try cluster.start()
            print("embedded PostgreSQL \(wasRunning ? "already running" : "started"): \(DatabaseURL.redacted(url)) (\(cluster.directory))")
        }
    }

    /// Stops the cluster (fast shutdown); a stopped cluster stays stopped.
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop", abstract: "Stop the cluster (open sessions are ended; committed data is kept).")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let cluster = EmbeddedCluster(directory: global.homeDirectory)
            guard cluster.isRunning else {
                print("embedded PostgreSQL is not running (\(cluster.directory))")
                return
            }
            try cluster.stop()
            print("embedded PostgreSQL stopped (\(cluster.directory))")
        }
    }

    /// Prints `running` or `stopped`; exits 3 when stopped, like `pg_ctl status`, so scripts can test it.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Print whether the cluster runs (exit status 3 when it does not).")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let cluster = EmbeddedCluster(directory: global.homeDirectory)
            let created = FileManager.default.fileExists(atPath: "\(cluster.directory)/pg/PG_VERSION")
            if cluster.isRunning {
                let port = (try? String(contentsOfFile: "\(cluster.directory)/port", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                print("running: 127.0.0.1:\(port ?? "?") (\(cluster.directory))")
            } else {
                print("\(created ? "stopped" : "not created yet") (\(cluster.directory))")
                throw ExitCode(3)
            }
        }
    }

    /// Starts the cluster if needed and prints its libpq URL, for `psql "$(mailroom db url --show-password)"`.
    struct URLCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "url", abstract: "Start the cluster if needed and print its libpq URL (password hidden unless asked).")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print the real password instead of <redacted>.")
        var showPassword = false

        func run() async throws {
            let url = try EmbeddedCluster(directory: global.homeDirectory).start()
            print(showPassword ? url : DatabaseURL.redacted(url))
        }
    }
}

/// Hides the password of a `postgresql://user:password@host...` URL.
enum DatabaseURL {
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"),
              let at = url.range(of: "@", range: scheme.upperBound..<url.endIndex),
              let colon = url.range(of: ":", range: scheme.upperBound..<at.lowerBound)
        else { return url }
        return url.replacingCharacters(in: colon.upperBound..<at.lowerBound, with: "<redacted>")
    }
}
