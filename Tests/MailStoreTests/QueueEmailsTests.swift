import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// `mailroom_queue_emails` (functions/21_queue_email.sql), the one writer of outgoing mail, and its
/// batch promises, held as the CRM role: every email validated and checked, all or nothing, an
/// invalid one named by its position, and one wake-up of the workers per transaction.
@Suite struct QueueEmailsTests {
    typealias Fixture = CRMRoleSecurityTests.Fixture

    static func element(_ account: Int64, to: String = "customer@example.test", subject: String = "Hello",
                        extra: [String: Any] = [:]) -> [String: Any] {
        ["account": account, "to": [to], "subject": subject, "text": "A small text email."].merging(extra) { $1 }
    }

    static func json(_ elements: [[String: Any]]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: elements), as: UTF8.self)
    }

    /// Runs `mailroom_queue_emails` as the CRM acting as `user`; returns the ids.
    static func queue(_ f: Fixture, as user: Int64, _ elements: [[String: Any]]) async throws -> [Int64] {
        let text = try json(elements)
        return try await CRMRoleSecurityTests.asCRM(f.tenant, user: user) { conn in
            try conn.query("SELECT unnest(mailroom_queue_emails(\(text)::jsonb))").map { try $0.decode(Int64.self, at: 0) }
        }
    }

    /// Expects the call to fail with `state`; returns the message.
    static func refusal(_ f: Fixture, as user: Int64, _ elements: [[String: Any]], state: String,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        do {
            let ids = try await queue(f, as: user, elements)
            Issue.record("queued \(ids)", sourceLocation: sourceLocation)
            return ""
        } catch let e as PostgresError {
            #expect(e.sqlState == state, "\(e)", sourceLocation: sourceLocation)
            return e.message
        }
    }

    static func outgoingCount(_ f: Fixture) async throws -> Int {
        try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try conn.query("SELECT count(*)::int FROM email WHERE queued_at IS NOT NULL").one().decode(at: 0)
        }
    }

    @Test func aBatchQueuesEveryEmailWithItsRowsAndOneJobEach() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        let attachment = Data("hello, attachment".utf8).base64EncodedString()
        let ids = try await Self.queue(f, as: f.alice, [
            Self.element(f.support, extra: ["cc": [["address": "Boss@Example.test", "name": "The Boss"]]]),
            Self.element(f.personal, subject: "With a file",
                         extra: ["attachments": [["filename": "a.txt", "content_type": "text/plain", "data": attachment]]]),
            Self.element(f.support, to: "other@example.test"),
        ])
        #expect(ids.count == 3)
        let rows = try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            let idList = PostgresArray(ids)
            return (
                try conn.query("""
                    SELECT string_agg(e.status || ':' || e.created_by_user_id || ':' || e.send_account_id || ':' || e.subject, ',' ORDER BY e.id)
                    FROM email e WHERE e.id = ANY(\(idList)::bigint[])
                    """).one().decode(String.self, at: 0),
                try conn.query("""
                    SELECT string_agg(kind || ':' || address || ':' || coalesce(name, '-'), ',' ORDER BY email_id, kind, position)
                    FROM email_recipient WHERE email_id = ANY(\(idList)::bigint[]) AND kind IN ('to', 'cc')
                    """).one().decode(String.self, at: 0),
                try conn.query("SELECT size, convert_from(data, 'UTF8') FROM attachment WHERE email_id = \(ids[1])").one(),
                try conn.query("""
                    SELECT count(*)::int FROM job WHERE kind = 'send' AND state = 'ready' AND (payload->>'email')::bigint = ANY(\(idList)::bigint[])
                    """).one().decode(Int.self, at: 0),
                try conn.query("SELECT count(*)::int FROM email_user WHERE user_id = \(f.alice) AND folder = 'sent' AND email_id = ANY(\(idList)::bigint[])")
                    .one().decode(Int.self, at: 0))
        }
        #expect(rows.0 == "Sending:\(f.alice):\(f.support):Hello,Sending:\(f.alice):\(f.personal):With a file,Sending:\(f.alice):\(f.support):Hello")
        #expect(rows.1 == "cc:boss@example.test:The Boss,to:customer@example.test:-,to:customer@example.test:-,to:other@example.test:-")
        #expect(try rows.2.decode(Int.self, at: 0) == 17)
        #expect(try rows.2.decode(String.self, at: 1) == "hello, attachment")
        #expect(rows.3 == 3)
        #expect(rows.4 == 3)
    }

    /// Each reason with the change (a JSON object merged into the second email; null removes a key).
    @Test(arguments: [
        ("invalid recipient address (recipient 2 of To, Cc and Bcc in order)", #"{"cc": ["not an address"]}"#),
        ("the subject contains a line break", #"{"subject": "Hi\r\nBcc: victim@example.test"}"#),
        ("the email has no recipient", #"{"to": []}"#),
        ("invalid attachment content type (attachment 1)", #"{"attachments": [{"content_type": "text", "data": ""}]}"#),
        ("invalid Message-ID (message_id)", #"{"message_id": "<x@y>"}"#),
        ("no mail account to send from", #"{"account": null}"#),
    ])
    func anInvalidEmailFailsTheWholeCallNamingItsPosition(reason: String, change: String) async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        let changes = try #require(try JSONSerialization.jsonObject(with: Data(change.utf8)) as? [String: Any])
        let bad = Self.element(f.support).merging(changes) { $1 }.filter { !($0.value is NSNull) }
        let message = try await Self.refusal(f, as: f.alice, [Self.element(f.support), bad, Self.element(f.support)], state: "22023")
        #expect(message == "email 2: " + reason)
        #expect(try await Self.outgoingCount(f) == 0)
    }

    @Test func eachEmailIsCheckedForItsSenderAsTheCRM() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        // Alice writing as Bob.
        var message = try await Self.refusal(f, as: f.alice, [Self.element(f.support), Self.element(f.support, extra: ["user": f.bob])],
                                             state: "42501")
        #expect(message == "email 2: may not create email (new): outgoing mail is written only by its sender or an admin")
        // Bob through Alice's personal account.
        message = try await Self.refusal(f, as: f.bob, [Self.element(f.support), Self.element(f.support), Self.element(f.personal)],
                                         state: "42501")
        #expect(message == "email 3: user \(f.bob) may not send from mail account \(f.personal) (alice <alice@acme.test>)")
        // The CRM never writes the service's auto-replies, not even as an admin.
        message = try await Self.refusal(f, as: f.admin, [Self.element(f.support, extra: ["auto_reply": true, "reply_to_email": f.received])],
                                         state: "42501")
        #expect(message == "may not create email (new): only the service queues auto-replies")
        // Another tenant's account is not visible.
        let foreign = try await TestDatabase.pool().transaction(tenant: f.other) { conn in
            try conn.query("SELECT id FROM mail_account").one().decode(Int64.self, at: 0)
        }
        message = try await Self.refusal(f, as: f.admin, [Self.element(f.support), Self.element(foreign)], state: "42501")
        #expect(message == "email 2: user \(f.admin) may not send from mail account \(foreign) (not visible to this tenant)")
        #expect(try await Self.outgoingCount(f) == 0)
        // An admin queues for Alice; Alice for herself.
        let ids = try await Self.queue(f, as: f.admin, [Self.element(f.personal, extra: ["user": f.alice]), Self.element(f.support)])
        #expect(try await Self.queue(f, as: f.alice, [Self.element(f.personal)]).count == 1)
        #expect(ids.count == 2)
        #expect(try await Self.outgoingCount(f) == 3)
    }

    /// Counted on a database of its own, so no other test's jobs wake the listener: a transaction that
    /// queues a batch and two single emails notifies once; the marker committed after it bounds the wait.
    @Test func theWorkersAreWokenOncePerTransaction() async throws {
        let (url, name, pool) = try await TestDatabase.createMigratedDatabase(connections: 2)
        defer { pool.close() }
        let listener = PostgresListener(conninfo: url, channels: ["mailroom_jobs", "queue_test_marker"])
        var fired: [String] = []
        do {
            _ = try await listener.wait(timeout: .milliseconds(1))  // LISTEN before anything is queued
            let (tenant, _) = try await TestDatabase.makeTenant("notify", in: pool)
            try await pool.transaction(tenant: tenant) { conn in
                let user: Int64 = try conn.query("""
                    INSERT INTO app_user (tenant_id, username, name, is_admin) VALUES (\(tenant), 'admin', 'Admin', true) RETURNING id
                    """).one().decode(at: 0)
                let account: Int64 = try conn.query("""
                    INSERT INTO mail_account (tenant_id, kind, name, address, smtp_host, smtp_port, smtp_shared)
                    VALUES (\(tenant), 'group', 'Support', 'support@acme.test', 'smtp.acme.test', 587, true) RETURNING id
                    """).one().decode(at: 0)
                let batch = try Self.json((0..<3).map { _ in Self.element(account, extra: ["user": user]) })
                try conn.execute("SELECT mailroom_queue_emails(\(batch)::jsonb)")
                for _ in 0..<2 {
                    try conn.execute("SELECT mailroom_queue_email(\(account), \(user), ARRAY['customer@example.test'], p_subject => 'Hi')")
                }
            }
            fired = try await EnqueueWakeUpTests.notifications(listener, until: "queue_test_marker", pool: pool)
            let jobs = try await pool.withConnection { try $0.query("SELECT count(*)::int FROM job WHERE kind = 'send'").one().decode(Int.self, at: 0) }
            #expect(jobs == 5)
        } catch {
            Issue.record(error)
        }
        listener.close()
        try await TestDatabase.dropDatabase(name)
        #expect(fired == ["mailroom_jobs", "queue_test_marker"])
    }
}
