import Foundation
import MailCore
import MailStore
import MailTesting
import MailProtocol
import MailTransport
import Testing
@testable import MailWorker

/// Bad input and bad servers: clear errors, nothing lost, nothing blocks the mailbox.
@Suite struct ImportFaultTests {
    @Test func oversizeMessagesAreImportedHeaderOnlyWithANote() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "oversize")
        let big = TestMessages.plain(id: "big@x.test", subject: "Huge", body: String(repeating: "0123456789abcdef\n", count: 8000))
        let small = TestMessages.plain(id: "small@x.test", subject: "Small")
        try f.server.deliverToMaildir(box, messages: [big, small])
        let (tenant, _) = try await f.tenant("oversize", accounts: [.init(name: "Support", mailbox: box, extra: ["max_message_size: 64KB"])])
        _ = try await f.importAll(tenant)
        let row = try await f.query(tenant) { conn in
            try conn.query("SELECT subject, is_header_only, import_note, size, body_text FROM email WHERE message_id = 'big@x.test'").one()
        }
        #expect(try row.decode(String.self, at: 0) == "Huge")
        #expect(try row.decode(Bool.self, at: 1))
        #expect(try row.decode(String.self, at: 2).contains("exceeds the account's limit"))
        #expect(try row.decode(Int.self, at: 3) >= big.count)
        #expect((try row.decode(String?.self, at: 4) ?? "").isEmpty)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE message_id = 'small@x.test' AND NOT is_header_only") == 1)
    }

    @Test func keepUnreadLeavesSeenUntouched() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "unread")
        try f.server.deliverToMaildir(box, messages: (1...3).map { TestMessages.plain(id: "unread-\($0)@x.test", subject: "U\($0)") })
        let (tenant, _) = try await f.tenant("unread", accounts: [.init(name: "Support", mailbox: box, imapExtra: ["keep_unread: true"])])
        _ = try await f.importAll(tenant)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 3)
        let session = try IMAPSession(endpoint: f.server.endpoint(for: box))
        let flags = try session.fetchMetadata("INBOX", uids: UIDSet([UID(1), UID(2), UID(3)])).map(\.flags)
        #expect(flags.count == 3)
        #expect(flags.allSatisfy { !$0.contains("\\Seen") })

        // Without keep-unread, fetching marks mail as read on the server (EspoCRM's default).
        let box2 = try f.server.createMailbox(prefix: "read")
        try f.server.deliverToMaildir(box2, messages: [TestMessages.plain(id: "read-1@x.test", subject: "R")])
        let (tenant2, _) = try await f.tenant("read", accounts: [.init(name: "Support", mailbox: box2)])
        _ = try await f.importAll(tenant2)
        let session2 = try IMAPSession(endpoint: f.server.endpoint(for: box2))
        #expect(try session2.fetchMetadata("INBOX", uids: UIDSet([UID(1)])).first?.flags.contains("\\Seen") == true)
    }

    @Test func wrongPasswordIsRecordedClearlyWithoutTheSecret() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "badpw")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "badpw@x.test", subject: "x")])
        let wrong = "Wr0ng-\(UUID().uuidString)"
        let (tenant, _) = try await f.tenant("badpw", accounts: [.init(name: "Support", mailbox: box, password: wrong)])
        let reports = try await f.importAll(tenant)
        #expect(reports.allSatisfy { $0.error != nil })
        let errors = try await f.query(tenant) { conn in
            try conn.query("SELECT a.last_error, f.last_error, f.consecutive_failures FROM mail_account a JOIN mail_folder f ON f.account_id = a.id").one()
        }
        let accountError = try errors.decode(String.self, at: 0)
        #expect(accountError.lowercased().contains("authentication"))
        #expect(!accountError.contains(wrong))
        #expect(!(try errors.decode(String.self, at: 1)).contains(wrong))
        #expect(try errors.decode(Int.self, at: 2) == 1)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 0)
    }

    @Test func serverDownIsRecordedAndRetriedLater() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "down")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "down@x.test", subject: "x")])
        let closed = try ClosedLoopbackPort()
        let (tenant, slug) = try await f.tenant("down", accounts: [.init(name: "Support", mailbox: box, port: closed.port)])
        let reports = try await f.importAll(tenant)
        #expect(reports.count == 1)
        #expect(reports[0].error?.lowercased().contains("connect") == true)
        #expect(try await f.count(tenant, "SELECT count(*) FROM mail_account WHERE last_error IS NOT NULL") == 1)
        // The server "comes back" (the account is pointed at the live port): the next poll imports and clears the error.
        _ = slug
        try await f.query(tenant) { conn in try conn.execute("UPDATE mail_account SET imap_port = \(f.server.imapPort)") }
        _ = try await f.importAll(tenant)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 1)
        #expect(try await f.count(tenant, "SELECT count(*) FROM mail_account WHERE last_error IS NULL") == 1)
        #expect(try await f.count(tenant, "SELECT count(*) FROM mail_folder WHERE last_error IS NULL AND consecutive_failures = 0") == 1)
    }
}

extension ImportFaultTests {
    @Test func aFailingMessageIsRetriedWithBackoffThenStaysVisibleAsFailed() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "retry")
        let garbage: [UInt8] = (0..<512).map { UInt8(truncatingIfNeeded: ($0 &* 97) ^ 0xA5) }
        try f.server.deliverToMaildir(box, messages: [garbage, TestMessages.plain(id: "after-garbage@x.test", subject: "fine")])
        let (tenant, _) = try await f.tenant("retry", accounts: [.init(name: "Support", mailbox: box)])
        // First pass with a long backoff: recorded once, the folder moves on past it.
        _ = try await f.importAll(tenant, runner: f.runner(maxAttempts: 3, retryDelay: .seconds(3600)))
        let first = try await f.query(tenant) { conn in
            try conn.query("SELECT attempts, state, stage, reason, next_attempt_at > now() + interval '50 minutes' FROM import_failure").one()
        }
        #expect(try first.decode(Int.self, at: 0) == 1)
        #expect(try first.decode(String.self, at: 1) == "retrying")
        #expect(try first.decode(String.self, at: 2) == "parse")
        #expect(!(try first.decode(String.self, at: 3)).isEmpty)
        #expect(try first.decode(Bool.self, at: 4), "the retry is scheduled by the backoff")
        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE message_id = 'after-garbage@x.test'") == 1)
        // Once the backoff has elapsed (moved into the past here), later polls retry until the attempts run out.
        try await f.query(tenant) { conn in try conn.execute("UPDATE import_failure SET next_attempt_at = now() - interval '1 second'") }
        _ = try await f.importAll(tenant, runner: f.runner(maxAttempts: 3, retryDelay: .milliseconds(1)))
        let final = try await f.query(tenant) { conn in
            try conn.query("SELECT attempts, state, next_attempt_at IS NULL FROM import_failure").one()
        }
        #expect(try final.decode(Int.self, at: 0) == 3)
        #expect(try final.decode(String.self, at: 1) == "failed")
        #expect(try final.decode(Bool.self, at: 2))
    }
}
