import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line file written once and then only read: a generated secret (a key, a password) that every
/// process started later must agree on.
///
/// The value is written under a temporary name (mode 0600) and linked into place, so two processes
/// starting at once agree on one value: the loser of the `link` race reads the winner's.
public struct OnceFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The file's value, or a new one from `generate`, written first. Its directory must exist.
    public func readOrCreate(_ generate: () throws -> String) throws -> String {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            let value = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { return value }
        }
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw OnceFileError("cannot create \(temporary): \(Self.lastError())") }
        let bytes = Array("\(try generate())\n".utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        defer { unlink(temporary) }
        guard written == bytes.count else { throw OnceFileError("cannot write \(temporary)") }
        if link(temporary, path) != 0 && errno != EEXIST {
            throw OnceFileError("cannot create \(path): \(Self.lastError())")
        }
        let value = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw OnceFileError("\(path) is empty") }
        return value
    }

    /// Creates `directory` (one level) with `mode` unless it exists.
    public static func makeDirectory(_ directory: String, mode: mode_t) throws {
        if mkdir(directory, mode) != 0 && errno != EEXIST {
            throw OnceFileError("cannot create \(directory): \(lastError())")
        }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}

/// Why a once-written file could not be read or created (the message names the path, never the value).
public struct OnceFileError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
