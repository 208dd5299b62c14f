import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// Recording delivery reports (`mailroom_record_delivery_reports`, functions/60_bounces.sql) with plain
/// values, address health, the queue's refusal of undeliverable recipients and who may clear a mark.
/// Mail is queued and marks are cleared as the CRM role; reports are recorded as the service would.
@Suite struct DeliveryReportStoreTests {
    typealias Fixture = CRMRoleSecurityTests.Fixture
    typealias R = EmailBounceQueries.Recipient

    static func hard(_ address: String, _ status: String = "5.1.1", _ diagnostic: String? = "550 5.1.1 User unknown") -> R {
        R(address: address, action: "failed", severity: "hard", status: status, diagnostic: diagnostic)
    }
    static func soft(_ address: String) -> R {
        R(address: address, action: "failed", severity: "soft", status: "4.2.2", diagnostic: "452 4.2.2 Mailbox full")
    }

    /// Queues an email from the support account as alice (CRM role), marks it sent; returns its id and Message-ID.
    static func sent(_ f: Fixture, to: [String], parentCase: Int64? = nil) async throws -> (id: EmailID, messageID: String) {
        let id = try await CRMRoleSecurityTests.asCRM(f.tenant, user: f.alice) { conn in
            try conn.query("""
                SELECT mailroom_queue_email(\(f.support), NULL, \(PostgresArray(to))::text[], p_subject => 'Hello', p_text => 'x',
                                            p_parent_type => \(parentCase == nil ? nil : "case"), p_parent_id => \(parentCase))
                """).one().decode(EmailID.self, at: 0)
        }
        let messageID = try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try conn.query("UPDATE email SET status = 'Sent', sent_at = now() WHERE id = \(id) RETURNING message_id").one().decode(String.self, at: 0)
        }
        return (id, messageID)
    }

    /// Stores an inbound report email; returns its id.
    static func report(_ f: Fixture) async throws -> EmailID {
        try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try conn.query("""
                INSERT INTO email (tenant_id, message_id, subject, from_address)
                VALUES (\(f.tenant), \(UUID().uuidString + "@mx.customer.test"), 'Undelivered Mail Returned to Sender',
                        'MAILER-DAEMON@mx.customer.test') RETURNING id
                """).one().decode(at: 0)
        }
    }

    static func record(_ f: Fixture, report: EmailID, messageIDs: [String], _ recipients: [R]) async throws -> EmailBounceQueries.Tie? {
        try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try EmailBounceQueries.emailBounceRecord(conn, tenant: f.tenant, report: report, messageIDs: messageIDs, recipients: recipients)
        }
    }

    static func health(_ f: Fixture, _ address: String) async throws -> AddressHealthQueries.Health? {
        try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try AddressHealthQueries.addressHealthGet(conn, tenant: f.tenant, address: address)
        }
    }

    static func status(_ f: Fixture, _ id: EmailID) async throws -> String {
        try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try conn.query("SELECT status FROM email WHERE id = \(id)").one().decode(at: 0)
        }
    }

    static func bouncedEvents(_ f: Fixture) async throws -> [EventRecord] {
        try await EventSchemas.events(TestDatabase.pool(), tenant: f.tenant).filter { $0.type == "email.bounced" }
    }

    @Test func aHardBounceMarksTheEmailAndTheAddressOnceAndARepeatChangesNothing() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        let out = try await Self.sent(f, to: ["Gone@Customer.test", "fine@customer.test"])
        let report = try await Self.report(f)
        let recipients = [Self.hard("GONE@customer.test"),
                          R(address: "fine@customer.test", action: "delivered", severity: nil, status: "2.0.0", diagnostic: nil)]
        // The first Message-ID names nothing of ours; the second is the email.
        let tie = try await Self.record(f, report: report, messageIDs: ["unknown@elsewhere.test", out.messageID], recipients)
        #expect(tie == EmailBounceQueries.Tie(email: out.id, parent: nil))
        #expect(try await Self.status(f, out.id) == "Bounced")
        let gone = try #require(try await Self.health(f, "gone@customer.test"))
        #expect(gone.undeliverableAt != nil && gone.email == out.id && gone.report == report)
        #expect(gone.reason == "hard bounce 5.1.1: 550 5.1.1 User unknown")
        #expect(try await Self.health(f, "fine@customer.test") == nil)

        // Recorded again (a re-import): no row, no event, no change.
        #expect(try await Self.record(f, report: report, messageIDs: [out.messageID], recipients) == tie)
        let rows = try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try EmailBounceQueries.emailBounceList(conn, tenant: f.tenant, outbound: out.id)
        }
        #expect(rows.map(\.recipient) == ["fine@customer.test", "gone@customer.test"])
        #expect(rows.map(\.action) == ["delivered", "failed"])
        #expect(rows.map(\.severity) == [nil, "hard"])
        #expect(try await Self.health(f, "gone@customer.test") == gone)

        let events = try await Self.bouncedEvents(f)
        #expect(events.count == 1)
        for event in events { #expect(try EventSchemas.violations(event) == []) }
        let payload = try EventSchemas.payload(try #require(events.first))
        #expect(payload["email_id"] == .integer(out.id.rawValue))
        #expect(payload["severity"] == .string("hard"))
        #expect(payload["status_code"] == .string("5.1.1"))
        #expect(payload["case_id"] == .null)
    }

    @Test func anUntiedReportIsStoredWithoutMarkingAnything() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        let report = try await Self.report(f)
        // Not even an inbound email's Message-ID ties: only mail we sent.
        let tie = try await Self.record(f, report: report, messageIDs: ["in-1@customer.test", "nothing@x.test"],
                                        [Self.hard("c@customer.test")])
        #expect(tie == nil)
        let rows = try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try EmailBounceQueries.emailBounceList(conn, tenant: f.tenant, report: report)
        }
        #expect(rows.count == 1 && rows.first?.email == nil && rows.first?.severity == "hard")
        #expect(try await Self.health(f, "c@customer.test") == nil)
        #expect(try await Self.bouncedEvents(f).isEmpty)
    }

    @Test func softBouncesMarkAfterTheTenantsLimitOfDistinctEmails() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        try await TestDatabase.pool().withConnection { conn in
            try conn.execute("UPDATE tenant SET soft_bounce_limit = 2 WHERE id = \(f.tenant)")
        }
        let first = try await Self.sent(f, to: ["full@customer.test"])
        let second = try await Self.sent(f, to: ["full@customer.test"])
        // Two reports about the first email count once.
        for _ in 0..<2 {
            _ = try await Self.record(f, report: try await Self.report(f), messageIDs: [first.messageID], [Self.soft("full@customer.test")])
        }
        var h = try #require(try await Self.health(f, "full@customer.test"))
        #expect(h.softBounces == 1 && h.undeliverableAt == nil)
        // A delay is no bounce.
        _ = try await Self.record(f, report: try await Self.report(f), messageIDs: [second.messageID],
                                  [R(address: "full@customer.test", action: "delayed", severity: "soft", status: "4.4.1", diagnostic: nil)])
        #expect(try await Self.health(f, "full@customer.test")?.softBounces == 1)
        #expect(try await Self.status(f, second.id) == "Sent")
        _ = try await Self.record(f, report: try await Self.report(f), messageIDs: [second.messageID], [Self.soft("full@customer.test")])
        h = try #require(try await Self.health(f, "full@customer.test"))
        #expect(h.softBounces == 2 && h.undeliverableAt != nil && h.email == second.id)
        #expect(h.reason == "2 soft bounces within 7 days, the last 4.2.2: 452 4.2.2 Mailbox full")
    }

    @Test func aBatchOfReportsIsRecordedInOneCallWithOneRowPerAddress() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        try await TestDatabase.pool().withConnection { conn in
            try conn.execute("UPDATE tenant SET soft_bounce_limit = 2 WHERE id = \(f.tenant)")
        }
        let a = try await Self.sent(f, to: ["full@customer.test", "gone@customer.test"])
        let b = try await Self.sent(f, to: ["full@customer.test", "gone@customer.test"])
        let reports = [try await Self.report(f), try await Self.report(f), try await Self.report(f)]
        let ties = try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try EmailBounceQueries.emailBounceRecordMany(conn, tenant: f.tenant, [
                .init(report: reports[0], messageIDs: [a.messageID], recipients: [Self.soft("full@customer.test"), Self.hard("gone@customer.test")]),
                .init(report: reports[1], messageIDs: ["nothing@x.test"], recipients: [Self.hard("gone@customer.test")]),
                .init(report: reports[2], messageIDs: [b.messageID], recipients: [Self.soft("full@customer.test"),
                                                                                 Self.hard("gone@customer.test", "5.1.2", "no such domain")]),
            ])
        }
        #expect(ties == [.init(email: a.id, parent: nil), nil, .init(email: b.id, parent: nil)])
        #expect(try await Self.status(f, a.id) == "Bounced")
        #expect(try await Self.status(f, b.id) == "Bounced")
        // Two soft bounces of distinct emails in one batch reach the limit of 2.
        let full = try #require(try await Self.health(f, "full@customer.test"))
        #expect(full.softBounces == 2 && full.undeliverableAt != nil && full.email == b.id)
        // The batch's first hard failure names the mark.
        let gone = try #require(try await Self.health(f, "gone@customer.test"))
        #expect(gone.email == a.id && gone.report == reports[0] && gone.reason == "hard bounce 5.1.1: 550 5.1.1 User unknown")
        let events = try await Self.bouncedEvents(f)
        #expect(events.count == 2)
        for event in events { #expect(try EventSchemas.violations(event) == []) }
    }

    @Test func aFailedAddressThatWasNoRecipientOfTheEmailIsNotMarked() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        let out = try await Self.sent(f, to: ["alias@customer.test"])
        _ = try await Self.record(f, report: try await Self.report(f), messageIDs: [out.messageID], [Self.hard("forwarded@elsewhere.test")])
        #expect(try await Self.status(f, out.id) == "Bounced")
        #expect(try await Self.health(f, "forwarded@elsewhere.test") == nil)
    }

    @Test func aReportOfACaseEmailJoinsTheCaseHistoryWithoutNotifyingOrReopening() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        let caseID = try await TestDatabase.pool().transaction(tenant: f.tenant) { conn -> Int64 in
            let id: Int64 = try conn.query("""
                INSERT INTO support_case (tenant_id, number, name, status, source_account_id, assigned_user_id)
                VALUES (\(f.tenant), 1, 'Printer', 'Closed', \(f.support), \(f.bob)) RETURNING id
                """).one().decode(at: 0)
            try conn.execute("INSERT INTO follow (tenant_id, user_id, record_type, record_id) VALUES (\(f.tenant), \(f.bob), 'case', \(id))")
            return id
        }
        let out = try await Self.sent(f, to: ["gone@customer.test"], parentCase: caseID)
        let report = try await Self.report(f)
        let tie = try await Self.record(f, report: report, messageIDs: [out.messageID], [Self.hard("gone@customer.test")])
        #expect(tie?.parent == RecordRef(.supportCase, caseID))
        let state = try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            (try conn.query("SELECT parent_type || '/' || parent_id FROM email WHERE id = \(report)").one().decode(String.self, at: 0),
             try conn.query("SELECT status FROM support_case WHERE id = \(caseID)").one().decode(String.self, at: 0),
             try StreamQueries.streamKinds(conn, tenant: f.tenant, record: RecordRef(.supportCase, caseID)),
             try conn.query("SELECT count(*)::int FROM notification").one().decode(Int.self, at: 0))
        }
        #expect(state.0 == "case/\(caseID)")
        #expect(state.1 == "Closed")
        #expect(state.2.last == "email_bounced")
        #expect(state.3 == 0)
        let payload = try EventSchemas.payload(try #require(try await Self.bouncedEvents(f).first))
        #expect(payload["case_id"] == .integer(caseID))
    }

    @Test func theQueueRefusesAMarkedRecipientUnlessToldToSendAnyway() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        let out = try await Self.sent(f, to: ["gone@customer.test"])
        _ = try await Self.record(f, report: try await Self.report(f), messageIDs: [out.messageID], [Self.hard("gone@customer.test")])

        let message = try await QueueEmailsTests.refusal(f, as: f.alice, [QueueEmailsTests.element(f.support, to: "Gone@Customer.test")],
                                                         state: "22023")
        #expect(message.contains("gone@customer.test is undeliverable: marked 20"))
        #expect(message.contains("hard bounce 5.1.1") && message.contains("send anyway"))
        // In a batch, the refusal names the email; Bcc counts too.
        let batch = try await QueueEmailsTests.refusal(f, as: f.alice, [
            QueueEmailsTests.element(f.support),
            QueueEmailsTests.element(f.support, extra: ["bcc": ["gone@customer.test"]]),
        ], state: "22023")
        #expect(batch.hasPrefix("email 2: recipient gone@customer.test"))

        let anyway = try await QueueEmailsTests.queue(f, as: f.alice, [
            QueueEmailsTests.element(f.support, to: "gone@customer.test", extra: ["send_anyway": true])])
        #expect(anyway.count == 1)
        let single = try await CRMRoleSecurityTests.asCRM(f.tenant, user: f.alice) { conn in
            try conn.query("""
                SELECT mailroom_queue_email(\(f.support), NULL, ARRAY['gone@customer.test'], p_subject => 'Hi', p_send_anyway => true)
                """).one().decode(Int64.self, at: 0)
        }
        #expect(single > 0)
    }

    @Test func onlyAnAdministratorOrTheServiceClearsAMark() async throws {
        let f = try await CRMRoleSecurityTests.makeFixture()
        let out = try await Self.sent(f, to: ["gone@customer.test", "back@customer.test"])
        _ = try await Self.record(f, report: try await Self.report(f), messageIDs: [out.messageID],
                                  [Self.hard("gone@customer.test"), Self.hard("back@customer.test")])

        // The CRM as a plain user: refused, by the function and by the table's guard alike.
        await CRMRoleSecurityTests.refused(f, user: f.alice, "SELECT mailroom_address_clear('gone@customer.test')")
        await CRMRoleSecurityTests.refused(f, user: f.alice, "UPDATE address_health SET undeliverable_at = NULL, reason = NULL")
        await CRMRoleSecurityTests.refused(f, user: f.admin, "UPDATE address_health SET undeliverable_at = now(), reason = 'x' WHERE undeliverable_at IS NULL OR true")
        await CRMRoleSecurityTests.refused(f, user: f.admin, "INSERT INTO address_health (tenant_id, address) VALUES (\(f.tenant), 'x@y.test')")
        await CRMRoleSecurityTests.refused(f, user: f.admin, "DELETE FROM address_health")
        // Recording reports is the service's: the CRM can neither call the function nor write rows.
        await CRMRoleSecurityTests.refused(f, user: f.admin, "SELECT * FROM mailroom_record_delivery_reports('[]')")
        await CRMRoleSecurityTests.refused(f, user: f.admin, "SELECT mailroom_address_wrote('{}', '{}')")
        await CRMRoleSecurityTests.refused(f, user: f.admin, """
            INSERT INTO email_bounce (tenant_id, report_email_id, recipient, action) VALUES (\(f.tenant), \(f.received), 'x@y.test', 'delivered')
            """)
        // The CRM reads both tables.
        let seen = try await CRMRoleSecurityTests.asCRM(f.tenant, user: f.alice) { conn in
            (try conn.query("SELECT count(*)::int FROM address_health WHERE undeliverable_at IS NOT NULL").one().decode(Int.self, at: 0),
             try conn.query("SELECT count(*)::int FROM email_bounce").one().decode(Int.self, at: 0))
        }
        #expect(seen == (2, 2))

        // The CRM acting as an administrator clears one.
        let cleared = try await CRMRoleSecurityTests.asCRM(f.tenant, user: f.admin) { conn in
            (try AddressHealthQueries.addressHealthClear(conn, tenant: f.tenant, address: "Gone@customer.test"),
             try AddressHealthQueries.addressHealthClear(conn, tenant: f.tenant, address: "never@customer.test"))
        }
        #expect(cleared == (true, false))
        let h = try #require(try await Self.health(f, "gone@customer.test"))
        #expect(h.undeliverableAt == nil && h.reason == nil && h.clearedBy == "administrator (user \(f.admin))")
        #expect(try await QueueEmailsTests.queue(f, as: f.alice, [QueueEmailsTests.element(f.support, to: "gone@customer.test")]).count == 1)

        // The import clears an address that writes to us (service).
        let n = try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            try AddressHealthQueries.addressHealthWrote(conn, tenant: f.tenant, senders: [("Back@Customer.test", EmailID(f.received)),
                                                                                          ("other@customer.test", EmailID(f.received))])
        }
        #expect(n == 1)
        #expect(try await Self.health(f, "back@customer.test")?.clearedBy == "inbound email \(f.received)")
    }
}
