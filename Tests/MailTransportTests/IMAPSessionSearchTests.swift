import Foundation
import MailCore
import MailProtocol
import Testing
@testable import MailTransport

@Suite struct IMAPSessionSearchTests {
    /// `true`: ESEARCH (Dovecot has it); `false`: one plain `UID SEARCH UID n:*`.
    @Test(arguments: [true, false])
    func searchAfterUIDDropsTheRFC3501Quirk(_ esearch: Bool) async throws {
        let (_, _, connection) = try await connect("after-\(esearch)")
        defer { connection.close() }
        let results = try await connection.run { session -> [[UID]] in
            session.esearchOverride = esearch
            for n in 1...5 { try session.append("INBOX", message: testMessage(subject: "s\(n)")) }
            return [
                try session.searchUIDs("INBOX", after: nil),
                try session.searchUIDs("INBOX", after: UID(2)),
                // RFC 3501 §6.4.8: `UID 6:*` matches UID 5, the highest; it must not come back.
                try session.searchUIDs("INBOX", after: UID(5)),
                try session.searchUIDs("INBOX", after: UID(500)),
            ]
        }
        #expect(results[0] == (1...5).map(UID.init))
        #expect(results[1] == [UID(3), UID(4), UID(5)])
        #expect(results[2] == [])
        #expect(results[3] == [])
    }

    @Test func bigMailboxSearchAndMetadataAreComplete() async throws {
        // 3500 UIDs of 4 digits: one plain SEARCH line of ~17 KB (libcurl cut such lines at 16 KB);
        // ESEARCH's `ALL 1:3500` stays tiny.
        // Maildir files are written directly, then indexed: far faster than 3500 APPENDs.
        let (server, account, connection) = try await connect("many")
        defer { connection.close() }
        try await connection.run { _ = try $0.examine("INBOX") }  // creates the Maildir
        let maildir = try #require(findMaildir(under: server.mailRoot, user: account.username),
                                   "no Maildir for \(account.username) below \(server.mailRoot)")
        let now = Int(Date().timeIntervalSince1970)
        for n in 1...3500 {
            let path = "\(maildir)/cur/\(now).M\(n)P1.test:2,S"
            _ = FileManager.default.createFile(atPath: path, contents: Data(testMessage(subject: "bulk \(n)")))
        }
        try server.doveadm(["force-resync", "-u", account.username, "INBOX"])
        let (status, viaESEARCH, viaPlain, metadata) = try await connection.run { session in
            // The session had INBOX selected before the files arrived: a fresh SELECT shows them.
            let status = try session.examine("INBOX")
            session.esearchOverride = true
            let viaESEARCH = try session.searchUIDs("INBOX", after: UID(0))
            session.esearchOverride = false
            let viaPlain = try session.searchUIDs("INBOX", after: nil)
            // One UID FETCH answered by 1000 FETCH lines (libcurl 7.88.1 failed after ~300).
            session.metadataChunkSize = 1000
            let metadata = try session.fetchMetadata("INBOX", uids: UIDSet(UID(1)...UID(1000)))
            return (status, viaESEARCH, viaPlain, metadata)
        }
        #expect(status.exists == 3500)
        // Compared as counts and bounds first: a failing #expect on 3500 UIDs prints them all.
        #expect(viaESEARCH.count == 3500 && viaESEARCH.first == UID(1) && viaESEARCH.last == UID(3500))
        #expect(viaPlain.count == 3500)
        #expect(viaPlain == viaESEARCH)
        #expect(metadata.count == 1000 && metadata.last?.uid == UID(1000))
        #expect(metadata.allSatisfy { $0.flags == ["\\Seen"] && $0.size > 100 })
    }

    @Test(arguments: [true, false])
    func searchSinceUsesInternalDate(_ esearch: Bool) async throws {
        let (_, _, connection) = try await connect("since-\(esearch)")
        defer { connection.close() }
        let day: TimeInterval = 86_400
        let (recent, future) = try await connection.run { session in
            session.esearchOverride = esearch
            for n in 1...3 { try session.append("INBOX", message: testMessage(subject: "d\(n)")) }
            return (try session.searchUIDs("INBOX", since: Date().addingTimeInterval(-2 * day)),
                    try session.searchUIDs("INBOX", since: Date().addingTimeInterval(2 * day)))
        }
        #expect(recent == [UID(1), UID(2), UID(3)])
        #expect(future == [])
    }
}

/// The Maildir of `user` below the mail root, wherever the server's home layout puts it.
func findMaildir(under root: String, user: String) -> String? {
    guard let enumerator = FileManager.default.enumerator(atPath: root) else { return nil }
    while let path = enumerator.nextObject() as? String {
        if path.hasSuffix("Maildir"), path.contains(user) { return "\(root)/\(path)" }
    }
    return nil
}
