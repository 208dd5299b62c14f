import Foundation
import MailTesting

/// The shared test servers as the chaos run drives them: restarts through `scripts/testenv.sh`, the
/// Postfix queue through `postqueue`, and the Maildir on disk as the final word on what was delivered.
struct TestEnvironmentControl: Sendable {
    /// `scripts/testenv.sh`; it finds the environment through `MAILROOM_TESTENV_DIR`, which children inherit.
    let script: String

    /// Runs `testenv.sh restart-postgres` or `restart-dovecot`; returns how long it took.
    func restart(_ server: String) throws -> Duration {
        let started = ContinuousClock.now
        _ = try CommandRunner.check(script, ["restart-\(server)"])
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
        var ids: Set<String> = []
        for sub in ["new", "cur"] {
            let dir = "\(folderPath)/\(sub)"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                if let id = messageID(ofFile: "\(dir)/\(name)") { ids.insert(id) }
            }
        }
        return ids
    }

    /// The Message-ID of the file's header block (RFC 5322 §3.6.4), without angle brackets.
    static func messageID(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let head = String(decoding: handle.readData(ofLength: 16_384), as: UTF8.self)
        for line in head.components(separatedBy: "\n") {
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
