import Foundation
import MailCore
import MailProtocol
import MailTesting
import Testing
@testable import MailTransport

/// Mailbox names on every test server: in modified UTF-7, or in UTF-8 where the server offers
/// UTF8=ACCEPT (RFC 6855) and the session enabled it (Courier-IMAP here). Either way a name with
/// non-ASCII letters and `&` (modified UTF-7's escape) round-trips.
@Suite struct MailboxNameTests {
    @Test("A folder named with umlauts and & is created, listed, filled and examined", arguments: IMAPServerKind.allCases)
    func nonASCIIFolder(_ kind: IMAPServerKind) throws {
        let server = try IMAPTestServer.fromEnvironment(kind)
        let box = try server.createMailbox(prefix: "names")
        defer { try? server.removeMailbox(box) }
        let folder = server.folderName(["Größe & Co"])
        let message = Array("From: a@example.net\r\nTo: b@example.net\r\nSubject: names\r\nMessage-ID: <names@example.net>\r\n\r\nHi\r\n".utf8)
        let uids = try server.append(box, folder: folder, messages: [message])
        #expect(uids.count == 1)

        let session = try IMAPSession(endpoint: server.endpoint(for: box))
        #expect(try session.listFolders().contains(folder))
        #expect(try session.examine(folder).exists == 1)
        let offered = try session.capabilities()
        let expected: MailboxNameEncoding = offered.contains("UTF8=ACCEPT") && offered.contains("ENABLE") ? .utf8 : .modifiedUTF7
        #expect(session.client?.mailboxNames == expected)
        var bodies: [[UInt8]] = []
        try session.fetchMessages(folder, uids: uids, maxBytesPerMessage: nil) { _, result in bodies.append(try result.get()) }
        #expect(bodies == [message])
    }
}
