import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTransport

/// Options every subcommand shares: where the database is and how loud to log.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
            help: "libpq URL of the database (default: $MAILROOM_DATABASE_URL, else a private cluster under ./.mailroom).")
    var databaseURL: String?

    @Option(help: "Directory of the embedded cluster used when no database URL is given (default: $MAILROOM_HOME or ./.mailroom).")
    var home: String?

    @Option(help: "Directory of NNNN_name.sql migrations (default: $MAILROOM_MIGRATIONS, ./migrations, or the installed copy).")
    var migrations: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: $MAILROOM_LOG_LEVEL or info).")
    var logLevel: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    var homeDirectory: String {
        home ?? environment["MAILROOM_HOME"] ?? FileManager.default.currentDirectoryPath + "/.mailroom"
    }

    /// The configured URL, or the embedded cluster's (started on first use).
    func resolveDatabase() throws -> String {
        if let url = databaseURL ?? environment["MAILROOM_DATABASE_URL"], !url.isEmpty { return url }
        return try EmbeddedCluster(directory: homeDirectory).start()
    }

    /// The key that seals account secrets: $MAILROOM_SECRET_KEY, else, with the embedded cluster only, the key
    /// file in the home directory (`SecretKeyFile`).
    func resolveSecretKey() throws -> SecretKey {
        if environment["MAILROOM_SECRET_KEY"] != nil { return try SecretKey.fromEnvironment(environment) }
        if databaseURL == nil, (environment["MAILROOM_DATABASE_URL"] ?? "").isEmpty {
            return try SecretKeyFile(directory: homeDirectory).loadOrCreate()
        }
        throw ValidationError("MAILROOM_SECRET_KEY is not set: it must hold 32 random bytes, base64 or hex (e.g. `openssl rand -base64 32`)")
    }

    /// The current key (`resolveSecretKey`) and the previous ones from $MAILROOM_PREVIOUS_SECRET_KEYS, which
    /// still open secrets and verify Message-IDs made before a key rotation. A malformed list is an error.
    func resolveKeyring() throws -> SecretKeyring {
        try SecretKeyring(current: resolveSecretKey(),
                          previous: SecretKeyring.previousKeys(environment[SecretKeyring.previousKeysVariable] ?? ""))
    }

    /// The log level of `--log-level`, else `$MAILROOM_LOG_LEVEL`, else info. An unknown name is an error.
    func resolveLogLevel() throws -> Logger.Level {
        let (text, source) = logLevel.map { ($0, "--log-level") } ?? environment["MAILROOM_LOG_LEVEL"].map { ($0, "MAILROOM_LOG_LEVEL") }
            ?? ("info", "default")
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("\(source): unknown log level \"\(text)\" (use trace, debug, info, notice, warning, error or critical)")
        }
        return level
    }

    func bootstrapLogging() throws {
        let level = try resolveLogLevel()
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    /// The operator's outbound host policy (`MAILROOM_ALLOWED_HOSTS`, `MAILROOM_INSECURE_HOSTS`) and
    /// memory bounds (`MAILROOM_MAX_MESSAGE_SIZE`, `MAILROOM_FETCH_BUDGET`), read once at start. A
    /// malformed value stops the command.
    func outboundSettings() throws -> (policy: OutboundPolicy, limits: TransferLimits) {
        do {
            let policy = try OutboundPolicy.fromEnvironment(environment)
            _ = try TLSTrust(policy: policy)  // an unreadable CA file stops the command at once
            return (policy, try TransferLimits.fromEnvironment(environment))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func makePool(connections: Int = 8) throws -> PostgresPool {
        PostgresPool(.init(conninfo: try resolveDatabase(), maxConnections: connections))
    }
}
