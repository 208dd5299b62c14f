import Foundation
import MailCore
import MailProtocol
import Testing
@testable import MailTransport

@Suite struct IMAPSessionFetchTests {
    @Test func examineReportsUIDValidityUIDNextAndExists() async throws {
        let (_, _, connection) = try await connect("examine")
        defer { connection.close() }
        let empty = try await connection.run { try $0.examine("INBOX") }
        #expect(empty.exists == 0)
        #expect(empty.uidNext == UID(1))
        #expect(empty.uidValidity.rawValue != 0)

        let status = try await connection.run { session in
            try session.append("INBOX", message: testMessage(subject: "one"))
            try session.append("INBOX", message: testMessage(subject: "two"))
            return try session.examine("INBOX")
        }
        #expect(status.exists == 2)
        #expect(status.uidNext == UID(3))
        #expect(status.uidValidity == empty.uidValidity)
        #expect(status.highestModSeq != nil)  // Dovecot offers CONDSTORE
    }

    @Test func appendedMessageComesBackByteForByte() async throws {
        let (_, _, connection) = try await connect("bytes")
        defer { connection.close() }
        // A body with lines that look like IMAP responses and a lone dot: all must survive.
        let message = testMessage(subject: "Grüße", body: "* 1 EXISTS\r\nA005 OK fake\r\n.\r\n\r\nend\r\n",
                                  extraHeaders: "X-Long: \(String(repeating: "x", count: 3000))\r\n")
        let (uid, body, header, missingUID) = try await connection.run { session in
            let uid = try session.append("INBOX", message: message)
            let body = try session.fetchMessage("INBOX", uid: uid!)
            let header = try session.fetchHeader("INBOX", uid: uid!)
            let missing = Result { try session.fetchMessage("INBOX", uid: UID(99)) }
            return (uid, body, header, missing.errorCode)
        }
        #expect(uid == UID(1))
        #expect(body == message)
        let separator = Array("\r\n\r\n".utf8)
        let headerEnd = message.indices.first { Array(message[$0..<min($0 + 4, message.count)]) == separator }!
        #expect(header == Array(message[..<(headerEnd + 4)]))
        #expect(missingUID == .noSuchMessage)
    }

    @Test func metadataOfManyMessagesArrivesInChunks() async throws {
        let (_, _, connection) = try await connect("metadata")
        defer { connection.close() }
        let messages = (1...120).map { testMessage(subject: "m\($0)", body: String(repeating: "b", count: $0) + "\r\n") }
        let before = Date().addingTimeInterval(-5)
        let metadata = try await connection.run { session in
            for (index, message) in messages.enumerated() {
                let flags = index % 10 == 0 ? ["\\Flagged"] : ["\\Seen"]
                try session.append("INBOX", message: message, flags: flags)
            }
            // 500 does not exist: it is simply absent from the answer.
            return try session.fetchMetadata("INBOX", uids: UIDSet((1...120).map(UID.init) + [UID(500)]))
        }
        #expect(metadata.map(\.uid) == (1...120).map(UID.init))
        #expect(metadata.map(\.size) == messages.map(\.count))
        for item in metadata {
            let expected = item.uid.rawValue % 10 == 1 ? "\\Flagged" : "\\Seen"
            #expect(item.flags.contains(expected), "UID \(item.uid): \(item.flags)")
            #expect(item.internalDate.map { $0 > before && $0 < Date().addingTimeInterval(5) } == true)
        }
    }

    @Test func metadataChunkSizeDoesNotChangeTheResult() async throws {
        let (_, _, connection) = try await connect("chunks")
        defer { connection.close() }
        let (small, large) = try await connection.run { session in
            for n in 1...40 { try session.append("INBOX", message: testMessage(subject: "c\(n)")) }
            let uids = UIDSet(UID(1)...UID(40))
            session.metadataChunkSize = 3
            let small = try session.fetchMetadata("INBOX", uids: uids)
            session.metadataChunkSize = 40
            let large = try session.fetchMetadata("INBOX", uids: uids)
            return (small, large)
        }
        #expect(small.count == 40)
        #expect(small == large)
    }

    @Test func fetchingPeeksAndFlagsChangeOnlyWhenAsked() async throws {
        let (_, _, connection) = try await connect("unseen")
        defer { connection.close() }
        let flags = try await connection.run { session -> [[String]] in
            let uids = UIDSet([try session.append("INBOX", message: testMessage(subject: "a"))!,
                               try session.append("INBOX", message: testMessage(subject: "b"))!])
            var seen: [[String]] = []
            // APPEND's default flags: \Seen.
            seen.append(try session.fetchMetadata("INBOX", uids: uids).flatMap(\.flags))
            try session.removeSeenFlag("INBOX", uids: uids)
            seen.append(try session.fetchMetadata("INBOX", uids: uids).flatMap(\.flags))
            // Fetches send BODY.PEEK[]: reading the message and its header leaves it unread ...
            _ = try session.fetchMessage("INBOX", uid: uids.min!)
            _ = try session.fetchHeader("INBOX", uid: uids.min!)
            try session.fetchMessages("INBOX", uids: Array(uids), maxBytesPerMessage: nil) { _, result in _ = try result.get() }
            seen.append(try session.fetchMetadata("INBOX", uids: uids).flatMap(\.flags))
            // ... and marking as read is a command of its own.
            try session.addSeenFlag("INBOX", uids: UIDSet([uids.min!]))
            seen.append(try session.fetchMetadata("INBOX", uids: uids).flatMap(\.flags))
            return seen
        }
        #expect(flags[0].filter { $0 == "\\Seen" }.count == 2)
        #expect(!flags[1].contains("\\Seen"))
        #expect(!flags[2].contains("\\Seen"))
        #expect(flags[3].filter { $0 == "\\Seen" }.count == 1)
    }

    @Test func appendSetsFlagsAndInternalDateInOneCommand() async throws {
        let (_, _, connection) = try await connect("appendflags")
        defer { connection.close() }
        let date = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14 22:13:20 UTC
        let message = testMessage(subject: "dated")
        let (metadata, body) = try await connection.run { session in
            let uid = try #require(try session.append("INBOX", message: message, flags: ["\\Flagged", "$Label1"], internalDate: date))
            return (try session.fetchMetadata("INBOX", uids: UIDSet([uid])), try session.fetchMessage("INBOX", uid: uid))
        }
        #expect(metadata.count == 1)
        #expect(Set(metadata.first?.flags ?? []) == ["\\Flagged", "$Label1"])
        #expect(metadata.first?.internalDate == date)
        #expect(body == message)
    }

    @Test(arguments: [TransportSecurity.starttls, .tls])
    func bothTLSModesWork(_ security: TransportSecurity) async throws {
        let (_, _, connection) = try await connect("tls-\(security.rawValue)", security: security)
        defer { connection.close() }
        let message = testMessage(subject: "over \(security.rawValue)")
        let (capabilities, body) = try await connection.run { session in
            let uid = try session.append("INBOX", message: message)!
            return (try session.capabilities(), try session.fetchMessage("INBOX", uid: uid))
        }
        #expect(capabilities.contains("IMAP4REV1"))
        #expect(!capabilities.contains("STARTTLS"))  // post-login list: TLS is already on
        #expect(body == message)
    }
}

extension Result where Failure == any Error {
    /// The transport error code of a failure, nil on success or another error.
    var errorCode: TransportError.Code? {
        if case .failure(let error) = self { return (error as? TransportError)?.code }
        return nil
    }
}
