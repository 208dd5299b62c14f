import Foundation
import Logging

/// Applies `migrations/NNNN_name.sql` in order, each in its own transaction, under an advisory lock;
/// then the repeatable files of `migrations/functions/` whose text changed; then the roles' access.
///
/// Numbered migrations hold schema and are recorded with their SHA-256; a released file that was
/// edited afterwards is refused rather than silently diverging between databases (STYLE.md §6).
/// Functions and triggers are code: one definition each in `functions/*.sql` (`CREATE OR REPLACE`),
/// re-applied in name order whenever the file's checksum changes (as Flyway's repeatable migrations).
/// Last, with `roles` set, `mailroom_apply_access` grants the service and CRM roles their rights,
/// forces row-level security checks and pins every function's search_path (docs/security.md).
public struct Migrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    /// A file of `functions/`: applied again whenever its text changes.
    public struct Repeatable: Sendable, Equatable {
        public var name: String
        public var sql: String
    }

    public let migrations: [Migration]
    public let repeatables: [Repeatable]
    public let roles: DatabaseRoles?
    private let logger: Logger

    public init(directory: String, roles: DatabaseRoles? = .standard,
                logger: Logger = Logger(label: "mailroom.migrate")) throws(PostgresError) {
        self.migrations = try Self.load(directory: directory)
        self.repeatables = try Self.loadRepeatables(directory: directory + "/functions")
        self.roles = roles
        self.logger = logger
    }

    public init(migrations: [Migration], repeatables: [Repeatable] = [], roles: DatabaseRoles? = nil,
                logger: Logger = Logger(label: "mailroom.migrate")) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.repeatables = repeatables.sorted { $0.name < $1.name }
        self.roles = roles
        self.logger = logger
    }

    /// Reads `functions/*.sql` in name order; a missing directory is no repeatable file.
    static func loadRepeatables(directory: String) throws(PostgresError) -> [Repeatable] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var out: [Repeatable] = []
        for file in names.sorted() where file.hasSuffix(".sql") {
            guard let sql = try? String(contentsOfFile: directory + "/" + file, encoding: .utf8) else {
                throw PostgresError(code: .migrationFailed, message: "cannot read functions/\(file)")
            }
            out.append(Repeatable(name: "functions/" + file.dropLast(4), sql: sql))
        }
        return out
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
        // Created only when missing: a role without DDL rights (the service role of a worker that checks
        // the schema at start) then reads the records and finds nothing to do.
        if try !tableExists("mailroom_migration", on: conn) { try conn.executeScript("""
            CREATE TABLE IF NOT EXISTS mailroom_migration (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """) }
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
        done += try applyRepeatables(on: conn)
        if let roles {
            try applyAccess(roles, on: conn, force: !done.isEmpty)
        }
        return done
    }

    private func applyRepeatables(on conn: PostgresConnection) throws -> [String] {
        guard !repeatables.isEmpty else { return [] }
        if try !tableExists("mailroom_repeatable", on: conn) { try conn.executeScript("""
            CREATE TABLE IF NOT EXISTS mailroom_repeatable (
                name       text PRIMARY KEY,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """) }
        var applied: [String: String] = [:]
        for row in try conn.query("SELECT name, checksum FROM mailroom_repeatable") {
            applied[try row.decode(String.self, at: 0)] = try row.decode(String.self, at: 1)
        }
        var done: [String] = []
        for r in repeatables {
            let sum = try checksum(r.sql, on: conn)
            if applied[r.name] == sum { continue }
            logger.info("applying functions", metadata: ["file": "\(r.name)"])
            do {
                try conn.transaction {
                    try conn.executeScript(r.sql)
                    try conn.execute("""
                        INSERT INTO mailroom_repeatable (name, checksum) VALUES (\(r.name), \(sum))
                        ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()
                        """)
                }
            } catch let e as PostgresError {
                throw PostgresError(code: .migrationFailed, sqlState: e.sqlState, message: "\(r.name).sql failed: \(e.message)")
            }
            done.append(r.name)
        }
        return done
    }

    /// Makes sure the roles exist, then runs `mailroom_apply_access` when anything was applied or the
    /// role names changed (recorded as the `access` row of `mailroom_repeatable`).
    private func applyAccess(_ roles: DatabaseRoles, on conn: PostgresConnection, force: Bool) throws {
        let key = "\(roles.service),\(roles.crm)"
        let recorded = try conn.query("SELECT checksum FROM mailroom_repeatable WHERE name = 'access'").first?.decode(String.self, at: 0)
        if !force && recorded == key { return }
        for role in [roles.service, roles.crm] {
            let exists = try conn.query("SELECT 1 FROM pg_roles WHERE rolname = \(role)").first != nil
            if exists { continue }
            let mayCreate = try conn.query("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user").one().decode(Bool.self, at: 0)
            guard mayCreate else {
                throw PostgresError(code: .migrationFailed,
                    message: "role \(role) does not exist and the migrating role may not create it: create it (CREATE ROLE \(role) LOGIN) or grant the migrating role CREATEROLE")
            }
            // NOLOGIN: the operator gives it a login and password (docs/security.md).
            try conn.execute(SQL(unsafeSQL: "CREATE ROLE \(role) NOLOGIN"))
            logger.info("created role", metadata: ["role": "\(role)"])
        }
        do {
            try conn.transaction {
                try conn.execute("SELECT mailroom_apply_access(\(roles.service), \(roles.crm))")
                try conn.execute("""
                    INSERT INTO mailroom_repeatable (name, checksum) VALUES ('access', \(key))
                    ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()
                    """)
            }
        } catch let e as PostgresError {
            throw PostgresError(code: .migrationFailed, sqlState: e.sqlState, message: "granting access failed: \(e.message)")
        }
    }

    private func tableExists(_ name: String, on conn: PostgresConnection) throws -> Bool {
        try conn.query("SELECT to_regclass(\(name)) IS NOT NULL").one().decode(Bool.self, at: 0)
    }

    private func checksum(_ sql: String, on conn: PostgresConnection) throws(PostgresError) -> String {
        try conn.query("SELECT encode(sha256(convert_to(\(sql), 'UTF8')), 'hex')").one().decode(String.self, at: 0)
    }
}
