import Foundation
import MailCore
import MailProtocol
import MailStore
import MailTesting
import MailTransport
import Synchronization
import Testing
@testable import MailWorker

/// `keep_unread`: the import reads messages without any client seeing a flag change, ever.
@Suite struct KeepUnreadTests {
    /// A user's mail program watches the folder during a whole import: no `\Seen` (or any other
    /// flag) appears or disappears at any moment, the user's own `\Seen` stays, and where the server
    /// keeps modification sequences (CONDSTORE, RFC 7162) the folder's HIGHESTMODSEQ does not move.
    @Test func importWatchedByASecondClientChangesNoFlag() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "watched")
        let count = 60
        try f.server.deliverToMaildir(box, messages: (1...count).map {
            TestMessages.plain(id: "watched-\($0)@x.test", subject: "W\($0)", body: String(repeating: "text \($0)\n", count: 50))
        })
        let endpoint = f.server.endpoint(for: box)
        let setup = try IMAPSession(endpoint: endpoint)
        // The user has read every fourth message and flagged every fifth.
        let uids = try setup.searchUIDs("INBOX", after: nil)
        try setup.replaceFlags("INBOX", uids: UIDSet(uids.filter { $0.rawValue % 4 == 0 }), flags: ["\\Seen"])
        try setup.replaceFlags("INBOX", uids: UIDSet(uids.filter { $0.rawValue % 5 == 0 && $0.rawValue % 4 != 0 }), flags: ["\\Flagged"])
        let before = try FlagWatch.snapshot(setup)
        let modSeqBefore = try setup.examine("INBOX").highestModSeq
        #expect(before.values.filter { $0.contains("\\seen") }.count == count / 4)

        let (tenant, _) = try await f.tenant("watched", accounts: [.init(name: "Support", mailbox: box, imapExtra: ["keep_unread: true"])])
        let done = Signal()
        async let watching = FlagWatch.watch(endpoint, expected: before, until: done)
        let reports = try await f.importAll(tenant)
        done.set()
        let (differences, looks) = try await watching

        #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == count)
        #expect(looks >= 2)
        let changedLooks = differences.count
        let firstChange = differences.first.map { FlagWatch.diff(before, $0) } ?? ""
        #expect(changedLooks == 0, "flags changed in \(changedLooks) of \(looks) looks during the import: \(firstChange)")
        #expect(FlagWatch.diff(before, try FlagWatch.snapshot(setup)) == "")
        if let modSeqBefore {
            #expect(try setup.examine("INBOX").highestModSeq == modSeqBefore)
        }
    }
}
