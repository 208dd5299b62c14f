import Foundation
import MailTesting

/// The shared test servers as the chaos run drives them: restarts through `scripts/testenv.sh`, the
/// Postfix queue through `postqueue`, and the Maildir on disk as the final word on what was delivered.
struct TestEnvironmentControl: Sendable {
    /// `scripts/testenv.sh`; it finds the environment through `MAILROOM_TESTENV_DIR`, which children inherit.
    let script: String
    /// The script's output goes here, appended.
    let logFile: String

    /// Runs `testenv.sh restart-postgres` or `restart-dovecot`; returns how long it took.
    ///
    /// Spawned with `posix_spawn` and reaped with `waitpid`, output to a file: the restarted server is a
    /// daemon that inherits the script's descriptors, and Foundation's `Process` on Linux learns of a
    /// child's exit through a descriptor the child inherits, so it would wait as long as the server runs.
    func restart(_ server: String) throws -> Duration {
        let started = ContinuousClock.now
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Signal mask and dispositions are inherited across exec, and this thread blocks most signals:
        // a server started with SIGTERM blocked could never be stopped again. Start it with a clean slate.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(script), strdup("restart-\(server)"), nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, script, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw ChaosError("cannot run \(script): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0, spelled out: the C macros do not import.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw ChaosError("testenv.sh restart-\(server) failed (wait status \(status); see \(logFile))")
        }
        return ContinuousClock.now - started
    }
}

/// The test Postfix's queue. A message Postfix accepted while Dovecot's LMTP was down waits there for its
/// next retry (minutes by default): flushing hands it over as soon as Dovecot is back.
struct PostfixQueue: Sendable {
    let configDirectory: String

    /// The queue's config lives next to Dovecot's in the test environment: `<env>/postfix/etc`.
    init(server: TestMailServer) {
        let env = URL(fileURLWithPath: server.dovecotConfig).deletingLastPathComponent().deletingLastPathComponent()
        configDirectory = env.appendingPathComponent("postfix/etc").path
    }

    func flush() {
        guard let postqueue = CommandRunner.locate("postqueue") else { return }
        _ = try? CommandRunner.run(postqueue, ["-c", configDirectory, "-f"])
    }

    /// True when no message waits in the queue (or the queue cannot be read, which the report shows).
    func isEmpty() -> Bool {
        guard let postqueue = CommandRunner.locate("postqueue"),
              let out = try? CommandRunner.run(postqueue, ["-c", configDirectory, "-p"]) else { return true }
        return out.stdout.contains("Mail queue is empty")
    }
}

/// Reads Message-IDs straight from a Maildir folder's files (`new/` and `cur/`): what the mail server
/// really holds, whatever the deliverer believed.
enum MaildirScanner {
    static func messageIDs(in folderPath: String) -> Set<String> {
        Set(messageIDCounts(in: folderPath).keys)
    }

    /// How many files of the folder carry each Message-ID: more than one is a duplicate delivery.
    static func messageIDCounts(in folderPath: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for sub in ["new", "cur"] {
            let dir = "\(folderPath)/\(sub)"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                if let id = messageID(ofFile: "\(dir)/\(name)") { counts[id, default: 0] += 1 }
            }
        }
        return counts
    }

    /// The Message-ID of the file's header block (RFC 5322 §3.6.4), without angle brackets.
    static func messageID(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let head = String(decoding: handle.readData(ofLength: 16_384), as: UTF8.self)
        // "\r\n" is one Character in Swift: split on any newline Character, not on "\n".
        for line in head.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let l = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if l.isEmpty { break }
            if l.lowercased().hasPrefix("message-id:"),
               let open = l.firstIndex(of: "<"), let close = l.lastIndex(of: ">"), open < close {
                return String(l[l.index(after: open)..<close])
            }
        }
        return nil
    }
}
