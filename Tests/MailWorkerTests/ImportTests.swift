import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// The import path end to end: real Dovecot → libcurl → GMime → Postgres.
@Suite struct ImportTests {
    @Test func importsEveryMessageOnceWithItsContent() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "content")
        let attachment = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let image: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 40)
        var messages: [[UInt8]] = (1...12).map {
            TestMessages.plain(id: "plain-\($0)@initech.test", subject: "Plain #\($0)", body: "Body number \($0)\n")
        }
        messages.append(TestMessages.rich(id: "rich@example.test", attachment: attachment, inlineImage: image))
        try f.server.deliverToMaildir(box, messages: messages)
        let (tenant, _) = try await f.tenant("content", accounts: [.init(name: "Support", mailbox: box)])

        let reports = try await f.importAll(tenant)
        #expect(reports.reduce(0) { $0 + $1.imported } == 13)
        #expect(reports.allSatisfy { $0.error == nil })
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 13)

        let plain = try await f.query(tenant) { conn in
            try conn.query("SELECT subject, from_address, from_name, body_text FROM email WHERE message_id = 'plain-7@initech.test'").one()
        }
        #expect(try plain.decode(String.self, at: 0) == "Plain #7")
        #expect(try plain.decode(String.self, at: 1) == "peter@initech.test")
        #expect(try plain.decode(String.self, at: 2) == "Peter Gibbons")
        #expect(try plain.decode(String.self, at: 3).contains("Body number 7"))

        let rich = try await f.query(tenant) { conn in
            try conn.query("""
                SELECT subject, from_name, body_text, body_html,
                       (SELECT string_agg(address, ',' ORDER BY position) FROM email_recipient r WHERE r.email_id = e.id AND r.kind = 'to'),
                       (SELECT name FROM email_recipient r WHERE r.email_id = e.id AND r.kind = 'cc'),
                       (SELECT address FROM email_recipient r WHERE r.email_id = e.id AND r.kind = 'reply_to')
                FROM email e WHERE message_id = 'rich@example.test'
                """).one()
        }
        #expect(try rich.decode(String.self, at: 0) == "Grüße aus Köln ✤")
        #expect(try rich.decode(String.self, at: 1) == "Jürgen Müller")
        #expect(try rich.decode(String.self, at: 2).contains("Grüße, see the picture."))
        #expect(try rich.decode(String.self, at: 3).contains("<img src=\"cid:logo@x\">"))
        #expect(try rich.decode(String.self, at: 4) == "support@acme.test,bob@acme.test")
        #expect(try rich.decode(String.self, at: 5) == "Lumbergh, Bill")
        #expect(try rich.decode(String.self, at: 6) == "replies@example.test")

        let files = try await f.query(tenant) { conn in
            try conn.query("""
                SELECT filename, content_type, content_id, is_inline, data FROM attachment a
                JOIN email e ON e.tenant_id = a.tenant_id AND e.id = a.email_id
                WHERE e.message_id = 'rich@example.test' ORDER BY a.is_inline DESC
                """).map { $0 }
        }
        #expect(files.count == 2)
        #expect(try files[0].decode(String?.self, at: 2) == "logo@x")
        #expect(try files[0].decode(Bool.self, at: 3))
        #expect(try files[0].decode([UInt8].self, at: 4) == image)
        #expect(try files[1].decode(String.self, at: 0) == "Bericht über Q3.bin")
        #expect(try files[1].decode([UInt8].self, at: 4) == attachment)

        // Team members and the addressed user (bob) get it in their inbox, each with their own flags.
        let users = try await f.query(tenant) { conn in
            try conn.query("""
                SELECT string_agg(u.username, ',' ORDER BY u.username) FROM email_user eu
                JOIN app_user u ON u.tenant_id = eu.tenant_id AND u.id = eu.user_id
                JOIN email e ON e.tenant_id = eu.tenant_id AND e.id = eu.email_id WHERE e.message_id = 'rich@example.test'
                """).one().decode(String.self, at: 0)
        }
        #expect(users == "alice,bob")

        // A second pass finds nothing new and changes nothing.
        let again = try await f.importAll(tenant)
        #expect(again.reduce(0) { $0 + $1.imported + $1.linkedExisting } == 0)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 13)
    }

    @Test func oneMessageIDIsOneEmailPerTenant() async throws {
        let f = try await WorkerFixture.make()
        let support = try f.server.createMailbox(prefix: "dup-support")
        let sales = try f.server.createMailbox(prefix: "dup-sales")
        let other = try f.server.createMailbox(prefix: "dup-other")
        let message = TestMessages.plain(id: "shared-\(UUID().uuidString)@initech.test", subject: "To both")
        for box in [support, sales, other] { try f.server.deliverToMaildir(box, messages: [message]) }
        let (acme, _) = try await f.tenant("dup-acme", accounts: [.init(name: "Support", mailbox: support), .init(name: "Sales", mailbox: sales)])
        let (globex, _) = try await f.tenant("dup-globex", accounts: [.init(name: "Support", mailbox: other)])
        _ = try await f.importAll(acme)
        _ = try await f.importAll(globex)
        #expect(try await f.count(acme, "SELECT count(*) FROM email") == 1)
        #expect(try await f.count(acme, "SELECT count(*) FROM email_account_link") == 2)
        #expect(try await f.count(globex, "SELECT count(*) FROM email") == 1)
        #expect(try await f.count(globex, "SELECT count(*) FROM email_account_link") == 1)
    }

    /// Copies of one Message-ID inside one stored batch: one email, linked once, at the last copy's
    /// UID (as storing them one by one would leave it), and delivered to each team user once.
    @Test func aMessageIDRepeatedWithinOneBatchIsOneEmail() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "dup-batch")
        let id = "twice-\(UUID().uuidString)@initech.test"
        try f.server.deliverToMaildir(box, messages: [
            TestMessages.plain(id: "first-\(UUID().uuidString)@initech.test", subject: "Before"),
            TestMessages.plain(id: id, subject: "Copy one"),
            TestMessages.plain(id: id, subject: "Copy two"),
        ])
        let (tenant, _) = try await f.tenant("dup-batch", accounts: [.init(name: "Support", mailbox: box)])
        let reports = try await f.importAll(tenant)
        #expect(reports.reduce(0) { $0 + $1.imported } == 2)
        #expect(reports.reduce(0) { $0 + $1.linkedExisting } == 1)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 2)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email_account_link") == 2)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email_account_link l JOIN email e ON e.id = l.email_id WHERE e.message_id = '\(id)' AND l.uid = 3") == 1)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE message_id = '\(id)' AND subject = 'Copy one'") == 1)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email_user") == 4)
    }

    @Test func mailWithoutMessageIDGetsAStableSyntheticOne() async throws {
        let f = try await WorkerFixture.make()
        let a = try f.server.createMailbox(prefix: "noid-a")
        let b = try f.server.createMailbox(prefix: "noid-b")
        let message = TestMessages.plain(id: nil, subject: "No id \(UUID().uuidString)")
        // Different delivery paths add different trace headers; the synthetic id must not depend on them.
        try f.server.deliverToMaildir(a, messages: [TestMessages.crlf("Received: from a.example by mx1; Tue, 1 Dec 2026 09:00:01 +0000\n") + message])
        try f.server.deliverToMaildir(b, messages: [TestMessages.crlf("Received: from b.example by mx2; Tue, 1 Dec 2026 09:00:05 +0000\n") + message])
        let (tenant, _) = try await f.tenant("noid", accounts: [.init(name: "A", mailbox: a), .init(name: "B", mailbox: b)])
        _ = try await f.importAll(tenant)
        let ids = try await f.query(tenant) { conn in
            try conn.query("SELECT message_id, message_id_synthetic FROM email").map { (try $0.decode(String.self, at: 0), try $0.decode(Bool.self, at: 1)) }
        }
        #expect(ids.count == 1)
        #expect(ids.first?.0.hasSuffix("@synthetic.mailroom.invalid") == true)
        #expect(ids.first?.1 == true)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email_account_link") == 2)
    }

    @Test func aNewUIDValidityDuplicatesNothingAndLaterMailArrives() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "uidv")
        try f.server.deliverToMaildir(box, messages: (1...5).map { TestMessages.plain(id: "uidv-\($0)@x.test", subject: "Before \($0)") })
        let (tenant, _) = try await f.tenant("uidv", accounts: [.init(name: "Support", mailbox: box)])
        _ = try await f.importAll(tenant)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 5)

        try f.server.setUIDValidity(box, folder: "INBOX", to: UIDValidity(777_000 + UInt32.random(in: 1...999)))
        try f.server.deliverToMaildir(box, messages: (6...8).map { TestMessages.plain(id: "uidv-\($0)@x.test", subject: "After \($0)") })
        let reports = try await f.importAll(tenant)
        #expect(reports.contains { $0.uidValidityChanged })
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 8)
        #expect(try await f.count(tenant, "SELECT count(*) FROM mail_sync_event WHERE kind = 'uidvalidity_changed'") == 1)
        // Links now point at the new epoch's UIDs for every message.
        #expect(try await f.count(tenant, "SELECT count(*) FROM email_account_link") == 8)
    }
}

@Suite struct MessageMapperTests {
    @Test func bodiesGetLFLineEndsAndLoseNULs() {
        #expect(MessageMapper.cleanBody("a\r\nb\r\n") == "a\nb\n")
        #expect(MessageMapper.cleanBody("lone\rcr\r") == "lone\rcr\r")
        #expect(MessageMapper.cleanBody("nul\0here\r\n") == "nulhere\n")
        #expect(MessageMapper.cleanBody("Grüße\r\n✤") == "Grüße\n✤")
        #expect(MessageMapper.clean("x\0y") == "xy")
        #expect(MessageMapper.clean("plain") == "plain")
    }
}
