import Foundation
import MailCore
import MailProtocol
import Testing
@testable import MailTransport

@Suite struct IMAPSessionFolderTests {
    /// Names that need modified UTF-7 (RFC 3501 §5.1.3), quoting, and percent-encoding in URLs.
    static let names = ["Entwürfe 2024", "100% sicher; ja?", "R&D \"Q\" \\x", "Привет #1"]

    @Test func foldersWithAwkwardNamesWork() async throws {
        let (_, _, connection) = try await connect("folders")
        defer { connection.close() }
        let message = testMessage(subject: "filed")
        let (folders, results) = try await connection.run { session in
            var results: [(String, MailboxStatus, [UInt8], [UID])] = []
            for name in Self.names {
                try session.createFolder(name)
                let uid = try session.append(name, message: message)!
                results.append((name, try session.examine(name), try session.fetchMessage(name, uid: uid),
                                try session.searchUIDs(name, after: nil)))
            }
            return (try session.listFolders(), results.map { Box($0) })
        }
        // Servers may add special-use folders (Sent, Trash, …) of their own.
        #expect(Set(Self.names + ["INBOX"]).isSubset(of: Set(folders)), "\(folders)")
        for result in results {
            let (name, status, body, uids) = result.value
            #expect(status.exists == 1, "\(name)")
            #expect(body == message, "\(name)")
            #expect(uids == [UID(1)], "\(name)")
        }
    }

    @Test func creatingAnExistingFolderFails() async throws {
        let (_, _, connection) = try await connect("dupfolder")
        defer { connection.close() }
        let second = try await connection.run { session in
            try session.createFolder("Twice")
            return Result { try session.createFolder("Twice") }.errorCode
        }
        #expect(second == .commandFailed)
    }
}

struct Box<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
