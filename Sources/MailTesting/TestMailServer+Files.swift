import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file operation on the test server's storage failed.
public struct FileError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

extension TestMailServer {
    /// Writes a user's passwd-file under a temporary name and renames it into place, so Dovecot never reads
    /// half a line. Mode 0640, group of the directory (the auth process reads it as that group).
    func writeUserFile(_ path: String, line: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        var dir = stat()
        guard stat(directory, &dir) == 0 else { throw FileError(operation: "stat", path: directory, code: errno) }
        let temporary = "\(directory)/.tmp-\(UUID().uuidString)"
        try writeFile(temporary, bytes: Array(line.utf8), mode: 0o640, uid: 0, gid: dir.st_gid)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw FileError(operation: "rename", path: path, code: code)
        }
    }

    /// Creates a directory owned by the mail user, unless it exists.
    func makeDirectory(_ path: String, uid: uid_t, gid: gid_t) throws {
        if mkdir(path, 0o700) != 0 {
            guard errno == EEXIST else { throw FileError(operation: "mkdir", path: path, code: errno) }
            return
        }
        try chownIfRoot(path, uid: uid, gid: gid)
    }

    /// Writes a new file and gives it to `uid`/`gid` (when running as root), so that the server process
    /// that owns the storage can read and rename it.
    func writeFile(_ path: String, bytes: [UInt8], mode: mode_t = 0o600, uid: uid_t, gid: gid_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(operation: "create", path: path, code: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(operation: "write", path: path, code: errno)
            }
            offset += n
        }
        // Fixtures run as root; the servers' processes do not. fchmod: open's mode is filtered by the umask.
        guard fchmod(fd, mode) == 0 else { throw FileError(operation: "chmod", path: path, code: errno) }
        if geteuid() == 0 && fchown(fd, uid, gid) != 0 {
            throw FileError(operation: "chown", path: path, code: errno)
        }
    }

    private func chownIfRoot(_ path: String, uid: uid_t, gid: gid_t) throws {
        if geteuid() == 0 && chown(path, uid, gid) != 0 {
            throw FileError(operation: "chown", path: path, code: errno)
        }
    }
}
