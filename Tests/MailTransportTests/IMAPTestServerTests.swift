import Foundation
import MailCore
import MailTesting
import MailTransport
import Testing

/// The fixture for all three IMAP servers: a user it makes can log in at once and receive mail, folders
/// and expunges do what IMAP says, a UIDVALIDITY change is real, and a removed user is gone.
@Suite struct IMAPTestServerTests {
    @Test("Users, folders, APPEND, EXPUNGE, UIDVALIDITY and removal", arguments: IMAPServerKind.allCases)
    func lifecycle(_ kind: IMAPServerKind) throws {
        let server = try IMAPTestServer.fromEnvironment(kind)
        let box = try server.createMailbox(prefix: "Fixture")
        #expect(box.username.hasPrefix("fixture-"))
        #expect(try server.status(box).messages == 0)

        let folder = server.folderName(["Rechnungen", "Größe"])
        let uids = try server.append(box, folder: folder, messages: (1...3).map { TestMailServerTests.message($0, to: box.address) })
        #expect(uids.count == 3 && uids == uids.sorted())
        let names = try IMAPSession(endpoint: server.endpoint(for: box)).listFolders()
        #expect(names.contains(folder))

        try server.expunge(box, folder: folder, uids: [uids[1]])
        #expect(try server.status(box, folder: folder).messages == 2)

        let before = try server.status(box, folder: folder).uidValidity
        let after = try server.changeUIDValidity(box, folder: folder)
        #expect(after != before)
        #expect(try server.status(box, folder: folder).uidValidity == after)

        try server.removeMailbox(box)
        // Dovecot still accepted the login right after the passwd-file was removed (seen here) and makes
        // a new, empty Maildir at the next login; Cyrus and Courier refuse the login.
        if kind != .dovecot {
            #expect(throws: TransportError.self) { try IMAPSession(endpoint: server.endpoint(for: box)).listFolders() }
        }
    }

    @Test("Folder names as each server spells them")
    func folderNames() throws {
        #expect(try IMAPTestServer.fromEnvironment(.dovecot).folderName(["A", "B"]) == "A/B")
        #expect(try IMAPTestServer.fromEnvironment(.cyrus).folderName(["A", "B"]) == "A/B")
        #expect(try IMAPTestServer.fromEnvironment(.courier).folderName(["A", "B"]) == "INBOX.A.B")
        #expect(try IMAPTestServer.fromEnvironment(.courier).folderName(["INBOX"]) == "INBOX")
    }
}
