import Foundation
import MailCore
import MailProtocol
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// `keep_unread` on every test server: the import reads messages without any client ever seeing a
/// flag change — not while it runs, not after a SIGKILL at any moment — and the user's own `\Seen`
/// and `\Flagged` stay. Where the server keeps modification sequences (CONDSTORE, RFC 7162) the
/// folder's HIGHESTMODSEQ does not move either.
extension ServerImportTests {
    /// Messages appended to `box`'s INBOX, the user having read every fourth and flagged every
    /// fifth (not both); returns the flags as the user left them.
    func userLeftFlags(_ server: IMAPTestServer, _ box: TestMailbox, count: Int, prefix: String) throws -> FlagWatch.Snapshot {
        let uids = try server.append(box, messages: messages(prefix, 1...count))
        let session = try IMAPSession(endpoint: server.endpoint(for: box))
        // APPEND leaves messages read; the user has seen only some.
        try session.replaceFlags("INBOX", uids: UIDSet(uids), flags: [])
        try session.replaceFlags("INBOX", uids: UIDSet(uids.enumerated().filter { $0.offset % 4 == 3 }.map(\.element)), flags: ["\\Seen"])
        try session.replaceFlags("INBOX", uids: UIDSet(uids.enumerated().filter { $0.offset % 5 == 4 && $0.offset % 4 != 3 }.map(\.element)),
                                 flags: ["\\Flagged"])
        let flags = try FlagWatch.snapshot(session)
        #expect(flags.count == count)
        #expect(flags.values.filter { $0.contains("\\seen") }.count == count / 4)
        return flags
    }

    @Test("keep_unread: a second client watching the import sees no flag change", arguments: IMAPServerKind.allCases)
    func keepUnreadWatched(_ kind: IMAPServerKind) async throws {
        try await promised(kind, prefix: "watch") { setup in
            let (f, server, box) = (setup.f, setup.server, setup.box)
            let count = 60
            let before = try userLeftFlags(server, box, count: count, prefix: "watch")
            let endpoint = server.endpoint(for: box)
            let observer = try IMAPSession(endpoint: endpoint)
            let modSeqBefore = try observer.examine("INBOX").highestModSeq
            let (tenant, _) = try await tenant(f, server, "watch", box: box, folders: ["INBOX"], imapExtra: ["keep_unread: true"])

            let done = Signal()
            async let watching = FlagWatch.watch(endpoint, expected: before, until: done)
            let reports = try await f.importAll(tenant)
            done.set()
            let (differences, looks) = try await watching

            #expect(failures(reports) == [])
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == count)
            #expect(looks >= 2)
            let changedLooks = differences.count
            let firstChange = differences.first.map { FlagWatch.diff(before, $0) } ?? ""
            #expect(changedLooks == 0, "flags changed in \(changedLooks) of \(looks) looks during the import: \(firstChange)")
            #expect(FlagWatch.diff(before, try FlagWatch.snapshot(observer)) == "")
            if let modSeqBefore {
                #expect(try observer.examine("INBOX").highestModSeq == modSeqBefore)
            }
        }
    }

    @Test("keep_unread: SIGKILLs mid-import leave every flag as the user left it", arguments: IMAPServerKind.allCases)
    func keepUnreadKilled(_ kind: IMAPServerKind) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: MailroomBinary.path), "mailroom binary not built at \(MailroomBinary.path)")
        try await promised(kind, prefix: "killed") { setup in
            let (f, server, box) = (setup.f, setup.server, setup.box)
            // Enough messages, stored one per transaction, that a run is still importing when the test
            // notices its first commit, even on a loaded machine (a faster importer had outrun the
            // check at 300 in batches of two).
            let count = 600
            let before = try userLeftFlags(server, box, count: count, prefix: "killed")
            let observer = try IMAPSession(endpoint: server.endpoint(for: box))
            let (tenant, slug) = try await tenant(f, server, "killed", box: box, folders: ["INBOX"], imapExtra: ["keep_unread: true"])
            var killedMidImport = 0
            for _ in 0..<6 {
                let stored = try await f.count(tenant, "SELECT count(*) FROM email")
                if stored == count { break }
                let p = try WorkerProcess.untilIdle(slug: slug, batchSize: 1)
                // Kill once this run has stored something (one message per batch: the import is then
                // still fetching and storing).
                _ = try await Eventually.until(timeout: .seconds(10), interval: .milliseconds(5)) {
                    if !p.isRunning { return true }
                    return try await f.count(tenant, "SELECT count(*) FROM email") != stored
                }
                if p.isRunning {
                    kill(p.processIdentifier, SIGKILL)
                    p.waitUntilExit()
                    if try await f.count(tenant, "SELECT count(*) FROM email") < count { killedMidImport += 1 }
                }
                p.waitUntilExit()
                #expect(FlagWatch.diff(before, try FlagWatch.snapshot(observer)) == "", "flags changed by a killed import")
            }
            let last = try WorkerProcess.untilIdle(slug: slug)
            last.waitUntilExit()
            #expect(last.terminationStatus == 0)
            #expect(killedMidImport >= 2, "kills must land mid-import (\(killedMidImport))")
            #expect(FlagWatch.diff(before, try FlagWatch.snapshot(observer)) == "")
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == count)
            #expect(try await f.count(tenant, "SELECT count(DISTINCT message_id) FROM email") == count)
        }
    }
}
