import Foundation
import MailCore
import MailProtocol
import MailTesting
import Testing
@testable import MailTransport

/// The pipelined batch fetch and the SASL logins against the real Dovecot.
@Suite struct IMAPBatchFetchTests {
    @Test func pipelinedBatchFetchReturnsEveryBodyByteExact() async throws {
        let (server, account, connection) = try await connect("batch")
        defer { connection.close() }
        try await connection.run { _ = try $0.examine("INBOX") }  // creates the Maildir
        let maildir = try #require(findMaildir(under: server.mailRoot, user: account.username))
        // Sizes from a few hundred bytes to ~60 KB; bodies with lines that look like responses.
        let messages = (1...300).map { n in
            testMessage(subject: "batch \(n)", body: "* \(n) FETCH (UID \(n) BODY[] {3}\r\nM\(n) OK fake\r\n)\r\n"
                + String(repeating: "line \(n) of a body that grows with its number\r\n", count: (n * 37) % 1300))
        }
        let now = Int(Date().timeIntervalSince1970)
        for (n, message) in messages.enumerated() {
            #expect(FileManager.default.createFile(atPath: "\(maildir)/cur/\(now).M\(n)P2.batch:2,", contents: Data(message)))
        }
        try server.doveadm(["force-resync", "-u", account.username, "INBOX"])
        let clock = ContinuousClock()
        let started = clock.now
        let (bodies, failures, uids) = try await connection.run { session in
            _ = try session.examine("INBOX")
            let uids = try session.searchUIDs("INBOX", after: nil)
            var bodies: [UID: [UInt8]] = [:]
            var failures: [String] = []
            try session.fetchMessages("INBOX", uids: uids, maxBytesPerMessage: nil, uidsPerCommand: 32, pipelineDepth: 4) { uid, result in
                switch result {
                case .success(let bytes):
                    if bodies.updateValue(bytes, forKey: uid) != nil { failures.append("UID \(uid) delivered twice") }
                case .failure(let error):
                    failures.append("UID \(uid): \(error)")
                }
            }
            return (bodies, failures, uids)
        }
        let elapsed = clock.now - started
        print("batch fetch: 300 messages, \(messages.reduce(0) { $0 + $1.count }) bytes in \(elapsed)")
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(uids.count == 300 && bodies.count == 300)
        // Dovecot numbers the files in its own order: compare as a multiset of byte strings.
        #expect(Set(bodies.values) == Set(messages))
        // And the flags are untouched: every message is still unread.
        let flags = try await connection.run { try $0.fetchMetadata("INBOX", uids: UIDSet(uids)).flatMap(\.flags) }
        #expect(!flags.contains("\\Seen"))
    }

    @Test func aMessageOverTheCapIsReportedAndTheNextInTheBatchStillArrives() async throws {
        let (_, _, connection) = try await connect("cap")
        defer { connection.close() }
        let small1 = testMessage(subject: "small one")
        let big = testMessage(subject: "big", body: String(repeating: "0123456789abcdef\r\n", count: 6000))
        let small2 = testMessage(subject: "small two")
        let (outcomes, whole, afterwards) = try await connection.run { session in
            let uids = try [small1, big, small2].map { try #require(try session.append("INBOX", message: $0)) }
            var outcomes: [String] = []
            try session.fetchMessages("INBOX", uids: uids, maxBytesPerMessage: 50_000, pipelineDepth: 1) { uid, result in
                switch result {
                case .success(let bytes): outcomes.append("\(uid): \(bytes.count) bytes")
                case .failure(let error): outcomes.append("\(uid): \(error.code)")
                }
            }
            // The connection is still in step: the same big message without a cap, then a command.
            let whole = try session.fetchMessage("INBOX", uid: uids[1])
            return (outcomes, whole, try session.examine("INBOX").exists)
        }
        #expect(outcomes == ["1: \(small1.count) bytes", "2: messageTooLarge", "3: \(small2.count) bytes"])
        #expect(whole == big)
        #expect(afterwards == 3)
    }

    @Test func aUIDThatIsGoneIsReportedAsSuch() async throws {
        let (_, _, connection) = try await connect("gone")
        defer { connection.close() }
        let outcomes = try await connection.run { session in
            try session.append("INBOX", message: testMessage(subject: "here"))
            var outcomes: [UID: String] = [:]
            try session.fetchMessages("INBOX", uids: [UID(1), UID(2), UID(40)], maxBytesPerMessage: nil) { uid, result in
                outcomes[uid] = result.error.map { "\($0.code)" } ?? "fetched"
            }
            return outcomes
        }
        #expect(outcomes == [UID(1): "fetched", UID(2): "noSuchMessage", UID(40): "noSuchMessage"])
    }

    /// Each password path: SASL PLAIN with SASL-IR, and IMAP LOGIN when PLAIN is not used.
    @Test(arguments: [["PLAIN"], []])
    func passwordLogins(_ mechanisms: Set<String>) async throws {
        let server = try LiveDovecot.fromEnvironment()
        let account = try server.newAccount("sasl")
        for (password, succeeds) in [(account.password, true), (Secret("Wrong-\(UUID().uuidString)"), false)] {
            let connection = try await IMAPConnection(endpoint: server.endpoint(account, password: password))
            defer { connection.close() }
            let outcome = await Result {
                try await connection.run { session in
                    session.saslMechanisms = mechanisms
                    return try session.examine("INBOX").exists
                }
            }
            #expect(succeeds ? outcome.errorCode == nil : outcome.errorCode == .authenticationFailed, "\(outcome)")
            #expect(!"\(outcome)".contains(password.value))
        }
    }

    /// Each OAuth mechanism Dovecot's oauth2 passdb offers, with a token of the test token server.
    @Test(arguments: ["OAUTHBEARER", "XOAUTH2"])
    func oauthLogins(_ mechanism: String) async throws {
        let server = try TestMailServer.fromEnvironment()
        let tokens = try TestTokenServer.fromEnvironment()
        let mailbox = try server.createMailbox(prefix: "sasl-\(mechanism.lowercased())")
        defer { try? server.removeMailbox(mailbox) }
        let grant = try await tokens.makeUser(mailbox.address)
        for (token, succeeds) in [(grant.accessToken, true), (Secret("at-never-issued-\(UUID().uuidString)"), false)] {
            let connection = try await IMAPConnection(endpoint: OAuthLoginTests.imapEndpoint(server, mailbox, token: token))
            defer { connection.close() }
            let outcome = await Result {
                try await connection.run { session in
                    session.saslMechanisms = [mechanism]
                    return try session.examine("INBOX").exists
                }
            }
            #expect(succeeds ? outcome.errorCode == nil : outcome.errorCode == .authenticationFailed, "\(outcome)")
            #expect(!"\(outcome)".contains(token.value))
        }
    }
}
