import Foundation
import MailIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private PostgreSQL cluster in a directory of its own: the zero-configuration default when no
/// `MAILROOM_DATABASE_URL` is given.
///
/// The first `start()` runs `initdb` into `<directory>/pg`, creates the non-superuser role and database
/// `mailroom` (with a random password kept in `<directory>/db.password`, mode 0600) and returns a libpq URL.
/// The server listens on 127.0.0.1 only, on the configured port or else a free one that is remembered in
/// `<directory>/port`; its unix socket lives in `<directory>/run` (mode 0700, trusted for the cluster's own
/// OS user). Run as root, the server runs as the `postgres` OS user.
///
/// All methods block while the PostgreSQL tools run: call them at start-up or from a dedicated thread.
public struct EmbeddedCluster: Sendable {
    public let directory: String
    public let port: Int?
    public let binDirectory: String?

    /// - Parameters:
    ///   - directory: where the cluster, its socket and password live (the `mailroom` command keeps its `SecretKeyFile` there too) (e.g. `./.mailroom`).
    ///   - port: a fixed port, or `nil` to pick a free one on first start and keep it.
    ///   - binDirectory: where `initdb`, `pg_ctl` and `psql` are; `nil` finds them.
    public init(directory: String, port: Int? = nil, binDirectory: String? = nil) {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.port = port
        self.binDirectory = binDirectory
    }

    static let host = "127.0.0.1"
    static let role = "mailroom"
    var dataDirectory: String { "\(directory)/pg" }
    var logFile: String { "\(directory)/postgres.log" }

    /// Starts the cluster unless it is running, creating it on first use; returns its libpq URL.
    public func start() throws -> String {
        let tools = try PostgresTools(binDirectory: binDirectory, runAsPostgres: geteuid() == 0)
        try makeDirectory(directory, mode: 0o755, owner: nil)
        if !FileManager.default.fileExists(atPath: "\(dataDirectory)/PG_VERSION") {
            try initialize(tools)
        }
        if try !tools.isRunning(dataDirectory) {
            let port = try choosePort()
            try writeServerConfig(tools, port: port)
            // The server appends to its log as its own user.
            if !FileManager.default.fileExists(atPath: logFile) {
                _ = FileManager.default.createFile(atPath: logFile, contents: nil, attributes: [.posixPermissions: 0o640])
            }
            if let user = tools.serverUser { try chownToUser(logFile, user: user) }
            try tools.run("pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "start"], what: "start PostgreSQL")
        }
        let port = try runningPort()
        try provision(tools, port: port)
        return "postgresql://\(Self.role):\(try password())@\(Self.host):\(port)/\(Self.role)"
    }

    /// Stops the cluster (fast shutdown: open sessions are ended, committed work is kept). A stopped cluster
    /// stays stopped.
    public func stop() throws {
        let tools = try PostgresTools(binDirectory: binDirectory, runAsPostgres: geteuid() == 0)
        guard try tools.isRunning(dataDirectory) else { return }
        try tools.run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], what: "stop PostgreSQL")
    }

    /// Whether the cluster's server is up.
    public var isRunning: Bool {
        guard let tools = try? PostgresTools(binDirectory: binDirectory, runAsPostgres: geteuid() == 0) else {
            return false
        }
        return (try? tools.isRunning(dataDirectory)) ?? false
    }

    // MARK: - Creation

    private func initialize(_ tools: PostgresTools) throws {
        try? FileManager.default.removeItem(atPath: dataDirectory)
        try makeDirectory(dataDirectory, mode: 0o700, owner: tools.serverUser)
        // The socket is trusted: only the cluster's OS user can reach it (directory and socket mode 0700).
        // Every TCP login needs the password.
        try tools.run("initdb", [
            "-D", dataDirectory, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
            "--encoding=UTF8", "--locale=C.UTF-8",
        ], what: "initdb")
        try appendLine("include_if_exists = 'mailroom.conf'", to: "\(dataDirectory)/postgresql.conf")
    }

    private func writeServerConfig(_ tools: PostgresTools, port: Int) throws {
        let socketDirectory = self.socketDirectory
        try makeDirectory(socketDirectory, mode: 0o700, owner: tools.serverUser)
        let config = """
            # Written by mailroom on each start.
            listen_addresses = '\(Self.host)'
            port = \(port)
            unix_socket_directories = '\(socketDirectory)'
            unix_socket_permissions = 0700

            """
        let path = "\(dataDirectory)/mailroom.conf"
        try Data(config.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        if let user = tools.serverUser { try chownToUser(path, user: user) }
    }

    /// Creates the `mailroom` role (LOGIN, not a superuser, no BYPASSRLS: row-level security applies to it)
    /// and its database, and the standard service and CRM roles (NOLOGIN until an operator gives them a
    /// password; `mailroom migrate` grants them their rights). Idempotent.
    private func provision(_ tools: PostgresTools, port: Int) throws {
        // The password travels on stdin, never in argv (visible to every local user).
        let sql = """
            SELECT 'CREATE ROLE \(Self.role)' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(Self.role)') \\gexec
            ALTER ROLE \(Self.role) LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD '\(try password())';
            SELECT 'CREATE ROLE ' || r || ' NOLOGIN' FROM unnest(ARRAY['\(DatabaseRoles.standard.service)', '\(DatabaseRoles.standard.crm)']) AS r
            WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \\gexec
            SELECT 'CREATE DATABASE \(Self.role) OWNER \(Self.role)'
            WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '\(Self.role)') \\gexec

            """
        try tools.run("psql", [
            "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", String(port), "-U", "postgres", "-d", "postgres",
        ], input: sql, redacting: [try password()], what: "create the mailroom role and database")
    }

    // MARK: - Ports and sockets

    /// Unix socket paths are limited to 107 bytes: a deep directory gets its socket under /tmp.
    var socketDirectory: String {
        let preferred = "\(directory)/run"
        if preferred.utf8.count <= 80 { return preferred }
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in directory.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return "/tmp/mailroom-pg-\(String(hash, radix: 36))"
    }

    private func choosePort() throws -> Int {
        if let port { return port }
        let file = "\(directory)/port"
        if let saved = try? String(contentsOfFile: file, encoding: .utf8), let port = Int(saved.trimmingCharacters(in: .whitespacesAndNewlines)),
            Self.portIsFree(port)
        {
            return port
        }
        let port = try Self.freePort()
        try Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        return port
    }

    /// The port of the running server, from line 4 of `postmaster.pid`.
    private func runningPort() throws -> Int {
        let pidFile = "\(dataDirectory)/postmaster.pid"
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else {
            throw EmbeddedClusterError("cannot read \(pidFile)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 3, let port = Int(lines[3].trimmingCharacters(in: .whitespaces)) else {
            throw EmbeddedClusterError("no port in \(pidFile)")
        }
        return port
    }

    static func portIsFree(_ port: Int) -> Bool { (try? bindLoopback(port)) != nil }

    /// Asks the kernel for a free loopback port.
    static func freePort() throws -> Int { try bindLoopback(0) }

    private static func bindLoopback(_ port: Int) throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw EmbeddedClusterError("socket() failed") }
        defer { close(fd) }
        // As PostgreSQL does: a port whose old connections linger in TIME_WAIT is still free to listen on.
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard bound else { throw EmbeddedClusterError("port \(port) on \(host) is in use") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: - Files

    func makeDirectory(_ path: String, mode: mode_t, owner: String?) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw EmbeddedClusterError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        if let owner { try chownToUser(path, user: owner) }
    }

    func chownToUser(_ path: String, user: String) throws {
        guard let entry = getpwnam(user) else { throw EmbeddedClusterError("no OS user \(user)") }
        guard chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw EmbeddedClusterError("cannot give \(path) to \(user): \(String(cString: strerror(errno)))")
        }
    }

    private func appendLine(_ line: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(line)\n".utf8))
    }
}

// MARK: - Secrets

extension EmbeddedCluster {
    /// The `mailroom` role's password, made on first use and kept in `<directory>/db.password` (mode 0600).
    func password() throws -> String {
        try OnceFile(path: "\(directory)/db.password").readOrCreate {
            try Self.randomBytes(24).map { String(format: "%02x", $0) }.joined()
        }
    }

    static func randomBytes(_ count: Int) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: "/dev/urandom") else {
            throw EmbeddedClusterError("cannot open /dev/urandom")
        }
        defer { try? handle.close() }
        guard let data = try handle.read(upToCount: count), data.count == count else {
            throw EmbeddedClusterError("short read from /dev/urandom")
        }
        return data
    }
}

// MARK: - Running the PostgreSQL tools

/// The PostgreSQL programs of one installation, run directly or, for root, as the `postgres` OS user
/// (the server refuses to run as root).
struct PostgresTools {
    let bin: String
    let serverUser: String?

    init(binDirectory: String?, runAsPostgres: Bool) throws {
        serverUser = runAsPostgres ? "postgres" : nil
        if let binDirectory {
            bin = binDirectory
        } else if let found = Self.findBinDirectory() {
            bin = found
        } else {
            throw EmbeddedClusterError("PostgreSQL server programs (initdb, pg_ctl) not found: install PostgreSQL")
        }
    }

    /// `pg_config --bindir` when it has the server programs, else the newest /usr/lib/postgresql/<version>/bin.
    static func findBinDirectory() -> String? {
        let fm = FileManager.default
        func hasServer(_ dir: String) -> Bool { fm.isExecutableFile(atPath: "\(dir)/initdb") && fm.isExecutableFile(atPath: "\(dir)/pg_ctl") }
        if let output = try? ProcessOutput.run("/usr/bin/env", ["pg_config", "--bindir"]), output.status == 0 {
            let dir = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if hasServer(dir) { return dir }
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        return versions.map { "/usr/lib/postgresql/\($0)/bin" }.first(where: hasServer)
    }

    /// Runs `tool` and returns its standard output; a non-zero exit throws with its standard error, from
    /// which `redacting` strings are removed.
    @discardableResult
    func run(_ tool: String, _ arguments: [String], input: String? = nil, redacting: [String] = [], what: String) throws -> String {
        let output = try invoke(tool, arguments, input: input)
        guard output.status == 0 else {
            var message = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            for secret in redacting where !secret.isEmpty {
                message = message.replacingOccurrences(of: secret, with: "<redacted>")
            }
            throw EmbeddedClusterError("could not \(what) (\(tool) exited with \(output.status)): \(message.suffix(600))")
        }
        return output.stdout
    }

    /// `pg_ctl status`: 0 running, 3 not running, 4 no usable data directory.
    func isRunning(_ dataDirectory: String) throws -> Bool {
        guard FileManager.default.fileExists(atPath: "\(dataDirectory)/PG_VERSION") else { return false }
        return try invoke("pg_ctl", ["-D", dataDirectory, "status"], input: nil).status == 0
    }

    private func invoke(_ tool: String, _ arguments: [String], input: String?) throws -> ProcessOutput {
        let program = "\(bin)/\(tool)"
        guard let serverUser else { return try ProcessOutput.run(program, arguments, input: input) }
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let runuser else { throw EmbeddedClusterError("runuser not found: needed to run PostgreSQL as \(serverUser)") }
        return try ProcessOutput.run(runuser, ["-u", serverUser, "--", program] + arguments, input: input)
    }
}

/// What a finished program printed and how it exited.
///
/// Runs programs with `posix_spawn` and `waitpid` rather than Foundation's `Process`: `pg_ctl start` leaves
/// a daemon behind, and on Linux `Process` notices a child's exit through a socket the child inherits — the
/// daemon inherits it too, so the exit is never seen. Here the child keeps only descriptors 0–2, and those
/// point at temporary files, which no daemon can hold open against us.
struct ProcessOutput {
    let status: Int32
    let stdout: String
    let stderr: String

    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> ProcessOutput {
        let stdinFile = try TemporaryFile(contents: input ?? "")
        let stdoutFile = try TemporaryFile(contents: "")
        let stderrFile = try TemporaryFile(contents: "")

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinFile.fd, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutFile.fd, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrFile.fd, 2)
        closeInheritedDescriptors(&actions)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw EmbeddedClusterError("cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw EmbeddedClusterError("waitpid failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS are macros Swift cannot import.
        let exited = status & 0x7f == 0
        return ProcessOutput(
            status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
            stdout: try stdoutFile.contents(),
            stderr: try stderrFile.contents()
        )
    }

    /// Makes the child close every descriptor from 3 up. glibc ≥ 2.34 has `..._addclosefrom_np`, which Swift
    /// does not import (it needs _GNU_SOURCE), so it is looked up at run time; older systems close the
    /// descriptors open now, as listed in /proc/self/fd.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap({ Int32($0) }) where fd > 2 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }
}

/// An unlinked temporary file: exists only as an open descriptor, closed on deinit.
private final class TemporaryFile {
    let fd: Int32

    init(contents: String) throws {
        var template = Array("\(NSTemporaryDirectory())/mailroom-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw EmbeddedClusterError("mkstemp failed: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) }
            guard n > 0 else { throw EmbeddedClusterError("cannot write a temporary file") }
            offset += n
        }
    }

    func contents() throws -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(data.count)) }
            guard n >= 0 else { throw EmbeddedClusterError("cannot read a temporary file") }
            if n == 0 { break }
            data += buffer[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    deinit { close(fd) }
}

/// Something went wrong creating, starting or stopping the embedded cluster. Descriptions never contain
/// passwords or keys.
public struct EmbeddedClusterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
