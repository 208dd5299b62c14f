import Foundation
import MailCore
import MailProtocol
import MailStore
import MailTesting
import MailTransport
import Synchronization
import Testing
@testable import MailWorker

/// `keep_unread` watched from outside: while the importer runs, a second IMAP session keeps
/// re-examining the folder; no message's flags and no MODSEQ may change at any point.
@Suite struct KeepUnreadWatchTests {
    struct Snapshot: Sendable, Equatable {
        var highestModSeq: UInt64?
        var flags: [UID: [String]]
    }

    @Test func keepUnreadImportChangesNoFlagAndNoModSeqWhileWatched() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "watch")
        try f.server.deliverToMaildir(box, messages: (1...60).map {
            TestMessages.plain(id: "watch-\($0)@x.test", subject: "W\($0)", body: String(repeating: "watched \($0)\n", count: 40 * $0))
        })
        let (tenant, _) = try await f.tenant("watch", accounts: [.init(name: "Support", mailbox: box, imapExtra: ["keep_unread: true"])])
        let watcher = try await IMAPConnection(endpoint: f.server.endpoint(for: box))
        defer { watcher.close() }
        // The user has read two of them already: those must stay read.
        let before = try await watcher.run { session -> Snapshot in
            try session.addSeenFlag("INBOX", uids: UIDSet([UID(3), UID(7)]))
            return try Self.snapshot(session, first: true)
        }
        #expect(before.highestModSeq != nil, "Dovecot offers CONDSTORE")
        #expect(before.flags.count == 60)

        let done = DoneFlag()
        let watch = Task {
            var rounds = 0
            var changed: [Snapshot] = []
            while !done.value.load(ordering: .acquiring) {
                let now = try await watcher.run { try Self.snapshot($0, first: false) }
                if now != before { changed.append(now) }
                rounds += 1
            }
            return (rounds, changed)
        }
        let reports = try await f.importAll(tenant)
        done.value.store(true, ordering: .releasing)
        let (rounds, changed) = try await watch.value
        print("keep_unread watch: \(rounds) snapshots during the import")
        #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 60)
        #expect(rounds >= 1)
        #expect(changed.isEmpty, "flags or MODSEQ changed: \(changed.first.map { "\($0)" } ?? "")")
        let after = try await watcher.run { try Self.snapshot($0, first: false) }
        #expect(after == before)
        #expect(after.flags.values.filter { $0.contains("\\Seen") }.count == 2)
    }

    final class DoneFlag: Sendable {
        let value = Atomic(false)
    }

    /// A fresh read-only view: EXAMINE (HIGHESTMODSEQ) and every message's flags.
    static func snapshot(_ session: IMAPSession, first: Bool) throws -> Snapshot {
        let status = first ? try session.select("INBOX", readOnly: true) : try session.examine("INBOX")
        let metadata = try session.fetchMetadata("INBOX", uids: UIDSet(UID(1)...UID(1000)))
        return Snapshot(highestModSeq: status.highestModSeq,
                        flags: Dictionary(uniqueKeysWithValues: metadata.map { ($0.uid, $0.flags.sorted()) }))
    }
}
