import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// The import path against each real IMAP server of the tests: Dovecot, Cyrus IMAP and Courier-IMAP
/// (`IMAPTestServer`). Mail arrives by IMAP APPEND as the user, the same on all three; each test has a
/// user and a tenant of its own. The promises are the same for every server: whatever a server's dialect
/// (Courier sends no UIDNEXT in SELECT and has no ESEARCH), each message is imported exactly once.
@Suite struct ServerImportTests {
    /// A tenant whose one group account polls INBOX and `folders` on `box`.
    func tenant(_ f: WorkerFixture, _ server: IMAPTestServer, _ prefix: String, box: TestMailbox,
                folders: [String], imapExtra: [String] = []) async throws -> (TenantID, String) {
        let list = folders.map { "\"\($0)\"" }.joined(separator: ", ")
        let account = TestGroupAccount(name: "Support", mailbox: box, imapExtra: ["folders: [\(list)]"] + imapExtra, port: server.port)
        return try await f.tenant("\(prefix)-\(server.kind)", accounts: [account])
    }

    /// A fixture, the server, a fresh user on it and the server's name for `Rechnungen/Größe`.
    struct Setup {
        let f: WorkerFixture
        let server: IMAPTestServer
        let box: TestMailbox
        let folder: String

        init(_ kind: IMAPServerKind, prefix: String) async throws {
            f = try await WorkerFixture.make()
            server = try IMAPTestServer.fromEnvironment(kind)
            box = try server.createMailbox(prefix: prefix)
            folder = server.folderName(["Rechnungen", "Größe"])
        }
    }

    /// Subjects are RFC 2047 words ("… Größe"): Cyrus turns raw 8-bit header bytes into `X` (munge8bit).
    func messages(_ prefix: String, _ numbers: ClosedRange<Int>) -> [[UInt8]] {
        numbers.map {
            TestMessages.plain(id: "\(prefix)-\($0)@initech.test", subject: "\(prefix) #\($0) =?UTF-8?Q?Gr=C3=B6=C3=9Fe?=",
                               body: "Nummer \($0), Größe egal\n")
        }
    }

    func failures(_ reports: [ImportReport]) -> [String] { reports.compactMap(\.error) }

    /// Runs `body` with a fresh user on `kind`; the user made for it is removed afterwards.
    func promised(_ kind: IMAPServerKind, prefix: String, _ body: (Setup) async throws -> Void) async throws {
        let setup = try await Setup(kind, prefix: prefix)
        defer { try? setup.server.removeMailbox(setup.box) }
        try await body(setup)
    }

    @Test("INBOX and a folder with a non-ASCII name are imported exactly once", arguments: IMAPServerKind.allCases)
    func exactlyOnce(_ kind: IMAPServerKind) async throws {
        try await promised(kind, prefix: "once") { setup in
            let (f, server, box, folder) = (setup.f, setup.server, setup.box, setup.folder)
            try server.append(box, messages: messages("once-inbox", 1...4))
            try server.append(box, folder: folder, messages: messages("once-folder", 1...3))
            let (tenant, _) = try await tenant(f, server, "once", box: box, folders: ["INBOX", folder])

            let first = try await f.importAll(tenant)
            #expect(failures(first) == [])
            #expect(first.reduce(0) { $0 + $1.imported } == 7)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 7)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE message_id LIKE 'once-folder-%'") == 3)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE subject = 'once-folder #2 Größe'") == 1)

            // A second pass finds nothing new and changes nothing.
            let again = try await f.importAll(tenant)
            #expect(failures(again) == [])
            #expect(again.reduce(0) { $0 + $1.imported + $1.linkedExisting } == 0)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 7)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email_account_link") == 7)
        }
    }

    @Test("After an expunge and new mail, a poll imports only the new messages", arguments: IMAPServerKind.allCases)
    func expungeThenAppend(_ kind: IMAPServerKind) async throws {
        try await promised(kind, prefix: "expunge") { setup in
            let (f, server, box, folder) = (setup.f, setup.server, setup.box, setup.folder)
            let uids = try server.append(box, folder: folder, messages: messages("exp", 1...5))
            let (tenant, _) = try await tenant(f, server, "expunge", box: box, folders: [folder])
            #expect(failures(try await f.importAll(tenant)) == [])
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 5)

            // The highest UIDs go: a server must not hand out their UIDs again, and the poll must not read the
            // now lower highest UID as "nothing new" when new mail arrives.
            try server.expunge(box, folder: folder, uids: Array(uids.suffix(2)))
            try server.append(box, folder: folder, messages: messages("exp", 6...8))
            let reports = try await f.importAll(tenant)
            #expect(failures(reports) == [])
            #expect(reports.reduce(0) { $0 + $1.imported } == 3)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 8)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE message_id = 'exp-7@initech.test'") == 1)

            let quiet = try await f.importAll(tenant)
            #expect(failures(quiet) == [])
            #expect(quiet.reduce(0) { $0 + $1.imported + $1.linkedExisting } == 0)
        }
    }

    /// Dovecot and Courier keep the messages under the new UIDVALIDITY; Cyrus's folder is renamed away
    /// and made anew, so the same messages are appended again. Either way the new epoch duplicates
    /// nothing, is recorded as an event, and later mail arrives.
    @Test("A new UIDVALIDITY re-imports nothing twice and later mail arrives", arguments: IMAPServerKind.allCases)
    func uidValidityChange(_ kind: IMAPServerKind) async throws {
        try await promised(kind, prefix: "uidv") { setup in
            let (f, server, box, folder) = (setup.f, setup.server, setup.box, setup.folder)
            try server.append(box, folder: folder, messages: messages("uidv", 1...4))
            let (tenant, _) = try await tenant(f, server, "uidv", box: box, folders: ["INBOX", folder])
            #expect(failures(try await f.importAll(tenant)) == [])
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 4)

            let before = try server.status(box, folder: folder)
            let after = try server.changeUIDValidity(box, folder: folder)
            #expect(after != before.uidValidity)
            if try server.status(box, folder: folder).messages == 0 {
                try server.append(box, folder: folder, messages: messages("uidv", 1...4))
            }
            try server.append(box, folder: folder, messages: messages("uidv", 5...6))

            let reports = try await f.importAll(tenant)
            #expect(failures(reports) == [])
            #expect(reports.contains { $0.uidValidityChanged })
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 6)
            #expect(try await f.count(tenant, "SELECT count(*) FROM mail_sync_event WHERE kind = 'uidvalidity_changed'") == 1)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email_account_link") == 6)

            let quiet = try await f.importAll(tenant)
            #expect(failures(quiet) == [])
            #expect(quiet.reduce(0) { $0 + $1.imported + $1.linkedExisting } == 0)
        }
    }
}
