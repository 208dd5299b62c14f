import Foundation
import Logging

/// Applies `migrations/NNNN_name.sql` in order, each in its own transaction, under an advisory lock.
///
/// Each applied file is recorded with its SHA-256; a released file that was edited afterwards is
/// refused rather than silently diverging between databases (STYLE.md §6).
public struct Migrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    public let migrations: [Migration]
    private let logger: Logger

    public init(directory: String, logger: Logger = Logger(label: "mailroom.migrate")) throws(PostgresError) {
        self.migrations = try Self.load(directory: directory)
        self.logger = logger
    }

    public init(migrations: [Migration], logger: Logger = Logger(label: "mailroom.migrate")) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Reads `NNNN_name.sql` files. Other files are ignored; two files with one number are an error.
    static func load(directory: String) throws(PostgresError) -> [Migration] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw PostgresError(code: .migrationFailed, message: "cannot read migrations directory \(directory)")
        }
        var out: [Migration] = []
        for file in names where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let us = stem.firstIndex(of: "_"), let version = Int(stem[..<us]) else { continue }
            guard let sql = try? String(contentsOfFile: directory + "/" + file, encoding: .utf8) else {
                throw PostgresError(code: .migrationFailed, message: "cannot read migration \(file)")
            }
            if out.contains(where: { $0.version == version }) {
                throw PostgresError(code: .migrationFailed, message: "two migrations numbered \(version)")
            }
            out.append(Migration(version: version, name: String(stem), sql: sql))
        }
        return out.sorted { $0.version < $1.version }
    }

    /// Finds the migrations directory: `$MAILROOM_MIGRATIONS`, `./migrations`, then beside the binary
    /// (`../share/mailroom/migrations`) and the container layout (`/app/migrations`).
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        var candidates: [String] = []
        if let env = environment["MAILROOM_MIGRATIONS"] { candidates.append(env) }
        candidates.append(FileManager.default.currentDirectoryPath + "/migrations")
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(exe.appendingPathComponent("../share/mailroom/migrations").standardized.path)
        candidates.append("/app/migrations")
        return candidates.first { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && d.boolValue }
    }

    /// Applies every pending migration; returns the names it applied (empty when up to date).
    /// Blocking: run on the connection's thread.
    public func apply(on conn: PostgresConnection) throws -> [String] {
        try conn.execute("SELECT pg_advisory_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.migrations))")
        defer { _ = try? conn.execute("SELECT pg_advisory_unlock(\(AdvisoryLock.namespace), \(AdvisoryLock.migrations))") }
        try conn.executeScript("""
            CREATE TABLE IF NOT EXISTS mailroom_migration (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int: (name: String, checksum: String)] = [:]
        for row in try conn.query("SELECT version, name, checksum FROM mailroom_migration") {
            applied[try row.decode(Int.self, at: 0)] = (try row.decode(String.self, at: 1), try row.decode(String.self, at: 2))
        }
        var done: [String] = []
        for m in migrations {
            let sum = try checksum(m.sql, on: conn)
            if let existing = applied[m.version] {
                guard existing.checksum == sum else {
                    throw PostgresError(code: .migrationFailed,
                        message: "migration \(m.name).sql was edited after it was applied (recorded checksum \(existing.checksum.prefix(12)), file \(sum.prefix(12))); add a new migration instead")
                }
                continue
            }
            logger.info("applying migration", metadata: ["migration": "\(m.name)"])
            do {
                try conn.transaction {
                    try conn.executeScript(m.sql)
                    try conn.execute("INSERT INTO mailroom_migration (version, name, checksum) VALUES (\(m.version), \(m.name), \(sum))")
                }
            } catch let e as PostgresError {
                throw PostgresError(code: .migrationFailed, sqlState: e.sqlState, message: "migration \(m.name).sql failed: \(e.message)")
            }
            done.append(m.name)
        }
        return done
    }

    private func checksum(_ sql: String, on conn: PostgresConnection) throws(PostgresError) -> String {
        try conn.query("SELECT encode(sha256(convert_to(\(sql), 'UTF8')), 'hex')").one().decode(String.self, at: 0)
    }
}
