import Foundation

/// Runs an external program to completion and captures its output: the way test fixtures drive server
/// tools (`doveadm`). Blocks the calling thread until the program exits.
public enum CommandRunner {
    /// What a finished program printed and how it exited.
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// A program that could not be found, could not start, or exited non-zero.
    public struct Failure: Error, CustomStringConvertible {
        public let command: String
        public let status: Int32
        public let stderr: String
        public var description: String {
            "`\(command)` failed with status \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }

    /// Finds `name` in `PATH` (and the usual system directories, which `PATH` may lack under `sudo`).
    public static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin"]
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `executable` with `arguments` and returns its output whatever the exit status. `input` is
    /// written to its standard input (a password, a protocol script), which is then closed.
    public static func run(_ executable: String, _ arguments: [String], input: [UInt8]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = input.map { _ in Pipe() }
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        if let stdin, let input {
            // Written on a thread of its own: a child that answers before reading all of it must not block us.
            let writer = Thread {
                stdin.fileHandleForWriting.write(Data(input))
                try? stdin.fileHandleForWriting.close()
            }
            writer.start()
        }
        // Drain stderr on another thread: a child that fills one pipe while we block reading the other
        // would otherwise never exit.
        let errReader = PipeReader(err.fileHandleForReading)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = errReader.wait()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    /// Runs `executable` and returns its standard output, throwing `Failure` on a non-zero exit.
    @discardableResult
    public static func check(_ executable: String, _ arguments: [String], input: [UInt8]? = nil) throws -> String {
        let output = try run(executable, arguments, input: input)
        guard output.status == 0 else {
            let name = URL(fileURLWithPath: executable).lastPathComponent
            throw Failure(command: ([name] + arguments).joined(separator: " "), status: output.status, stderr: output.stderr)
        }
        return output.stdout
    }
}

/// Reads a pipe to its end on a thread of its own.
private final class PipeReader: @unchecked Sendable {
    // Written once by the reader thread before `done` is signalled, read only after waiting on it.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
        thread.start()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
