import Foundation
import MailCore
import MailProtocol
import MailTesting
import MailTransport
import Synchronization

/// A second IMAP client watching a folder's flags while something else works on it: the way a
/// user's mail program would see an import.
///
/// `\Recent` is left out of every snapshot: it belongs to the session that first sees a message
/// (RFC 3501 §2.3.2), so it changes whenever any client selects the folder.
struct FlagWatch {
    typealias Snapshot = [UID: Set<String>]

    /// Every message's flags, by UID.
    static func snapshot(_ session: IMAPSession, folder: String = "INBOX") throws -> Snapshot {
        let uids = try session.searchUIDs(folder, after: nil)
        guard !uids.isEmpty else { return [:] }
        var out: Snapshot = [:]
        for meta in try session.fetchMetadata(folder, uids: UIDSet(uids)) {
            out[meta.uid] = Set(meta.flags.map { $0.lowercased() }.filter { $0 != "\\recent" })
        }
        return out
    }

    /// Watches until `done` is set: re-reads the flags over and over on its own connection and
    /// returns every snapshot that differed from `expected` (empty when nothing ever changed), and
    /// how many snapshots it took.
    static func watch(_ endpoint: IMAPEndpoint, expected: Snapshot, until done: Signal) async throws
        -> (differences: [Snapshot], looks: Int)
    {
        let connection = try await IMAPConnection(endpoint: endpoint, threadName: "flag-watch")
        defer { connection.close() }
        var differences: [Snapshot] = []
        var looks = 0
        while true {
            let finished = done.isSet
            let seen = try await connection.run { session in
                _ = try session.examine("INBOX")
                return try snapshot(session)
            }
            looks += 1
            if seen != expected { differences.append(seen) }
            // One more look after the work ended, so its last moment is covered too.
            if finished { return (differences, looks) }
        }
    }

    /// The messages whose flags differ between two snapshots, for a readable failure.
    /// Empty when they are equal.
    static func diff(_ a: FlagWatch.Snapshot, _ b: FlagWatch.Snapshot) -> String {
        let gone = Set(b.keys).subtracting(a.keys).isEmpty ? "" : "(new UIDs) "
        return gone + a.keys.sorted().filter { a[$0] != b[$0] }.prefix(5)
            .map { "UID \($0.rawValue): \(a[$0]!.sorted()) → \(b[$0].map { $0.sorted() } ?? [])" }
            .joined(separator: "; ")
    }
}

/// A one-way flag set by one task and read by another.
final class Signal: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}
