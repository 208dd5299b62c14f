import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// New emails, recipients and attachments are checked once per statement, after it
/// (`email_check_new_access`, `email_recipient_check_new_access`, `attachment_check_new_access` in
/// functions/20_sending.sql), as the CRM role: a statement of many rows is refused as a whole when any
/// row is, and rows inserted by the same statement are seen by the check.
@Suite struct NewRowAccessTests {
    typealias Fixture = CRMRoleSecurityTests.Fixture

    static func outgoing(_ f: Fixture) async throws -> (emails: Int, recipients: Int) {
        try await TestDatabase.pool().transaction(tenant: f.tenant) { conn in
            let row = try conn.query("""
                SELECT (SELECT count(*)::int FROM email WHERE queued_at IS NOT NULL),
                       (SELECT count(*)::int FROM email_recipient r JOIN email e ON e.tenant_id = r.tenant_id AND e.id = r.email_id
                        WHERE e.queued_at IS NOT NULL)
                """).one()
            return (try row.decode(at: 0), try row.decode(at: 1))
        }
    }

    /// An outgoing email row of `sender` through `account`, for a multi-row VALUES list.
    static func row(_ f: Fixture, _ tag: String, sender: Int64?, account: Int64, autoReply: Bool = false) -> String {
        "(\(f.tenant.rawValue), '\(tag)@acme.test', 'Sending', \(account), \(sender.map(String.init) ?? "NULL"), now(), \(autoReply))"
    }

    @Test func oneRefusedRowRefusesTheWholeInsert() async throws {
        let f = try await Self.makeFixture()
        let before = try await Self.outgoing(f)
        // alice's own email, then one naming the admin as its sender: the statement goes.
        let rows = [Self.row(f, "mine", sender: f.alice, account: f.personal), Self.row(f, "as-admin", sender: f.admin, account: f.support)]
        let message = await CRMRoleSecurityTests.refused(f, user: f.alice, SQL(unsafeSQL: """
            INSERT INTO email (tenant_id, message_id, status, send_account_id, created_by_user_id, queued_at, is_auto_reply)
            VALUES \(rows.joined(separator: ", "))
            """))
        #expect(message?.hasPrefix("may not create email ") == true, "\(message ?? "")")
        #expect(message?.hasSuffix(": outgoing mail is written only by its sender or an admin") == true, "\(message ?? "")")
        // An auto-reply among ordinary rows, and a row without a sender, likewise.
        let auto = await CRMRoleSecurityTests.refused(f, user: f.alice, SQL(unsafeSQL: """
            INSERT INTO email (tenant_id, message_id, status, send_account_id, created_by_user_id, queued_at, is_auto_reply)
            VALUES \(Self.row(f, "ok", sender: f.alice, account: f.personal)),
                   \(Self.row(f, "auto", sender: nil, account: f.support, autoReply: true))
            """))
        #expect(auto?.hasSuffix(": only the service queues auto-replies") == true, "\(auto ?? "")")
        #expect(try await Self.outgoing(f) == before)
        // Many rows of the acting user in one statement: accepted, the right asked once.
        let n = try await CRMRoleSecurityTests.asCRM(f.tenant, user: f.alice) { conn in
            try conn.execute(SQL(unsafeSQL: """
                INSERT INTO email (tenant_id, message_id, status, send_account_id, created_by_user_id, queued_at, is_auto_reply)
                VALUES \((1...5).map { Self.row(f, "batch-\($0)", sender: f.alice, account: f.personal) }.joined(separator: ", "))
                """))
        }
        #expect(n == 5)
    }

    @Test func theCheckSeesEmailsInsertedByTheSameStatement() async throws {
        let f = try await Self.makeFixture()
        let before = try await Self.outgoing(f)
        @Sendable func emailWithRecipient(sender: Int64) -> SQL {
            """
            WITH e AS (
                INSERT INTO email (tenant_id, message_id, status, send_account_id, created_by_user_id, queued_at)
                VALUES (\(f.tenant), \("cte-\(sender)-\(UUID().uuidString)@acme.test"), 'Sending', \(f.support), \(sender), now())
                RETURNING id)
            INSERT INTO email_recipient (tenant_id, email_id, kind, position, address)
            SELECT \(f.tenant), e.id, 'to', 0, 'c@customer.test' FROM e
            """
        }
        // bob writes his own email and its recipient in one statement; not one naming alice.
        #expect(try await CRMRoleSecurityTests.asCRM(f.tenant, user: f.bob) { try $0.execute(emailWithRecipient(sender: f.bob)) } == 1)
        await CRMRoleSecurityTests.refused(f, user: f.bob, emailWithRecipient(sender: f.alice))
        let after = try await Self.outgoing(f)
        #expect(after.emails == before.emails + 1 && after.recipients == before.recipients + 1)
    }

    @Test func newRecipientsAndAttachmentsFollowTheirEmail() async throws {
        let f = try await Self.makeFixture()
        let (mine, sent) = try await CRMRoleSecurityTests.asCRM(f.tenant, user: f.alice) { conn -> (Int64, Int64) in
            func queue() throws -> Int64 {
                try conn.query("SELECT mailroom_queue_email(\(f.personal), \(f.alice), ARRAY['c@customer.test'], p_subject => 'Hi')")
                    .one().decode(at: 0)
            }
            return (try queue(), try queue())
        }
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        _ = try await service.transaction(tenant: f.tenant) { try $0.execute("UPDATE email SET status = 'Sent', sent_at = now() WHERE id = \(sent)") }
        @Sendable func recipients(_ ids: [Int64], from first: Int = 10) -> SQL {
            SQL(unsafeSQL: "INSERT INTO email_recipient (tenant_id, email_id, kind, position, address) VALUES "
                + ids.enumerated().map { "(\(f.tenant.rawValue), \($1), 'bcc', \(first + $0), 'x\($0)@customer.test')" }.joined(separator: ", "))
        }
        // bob may not add to alice's email, even among other rows; nobody adds to a sent one.
        await CRMRoleSecurityTests.refused(f, user: f.bob, recipients([mine, mine]))
        let toSent = await CRMRoleSecurityTests.refused(f, user: f.alice, recipients([mine, sent]))
        #expect(toSent == "may not change email \(sent): recipients and attachments of a sent email cannot change")
        await CRMRoleSecurityTests.refused(f, user: f.admin, SQL(unsafeSQL: """
            INSERT INTO attachment (tenant_id, email_id, position, content_type, size, data)
            VALUES (\(f.tenant.rawValue), \(mine), 5, 'text/plain', 1, '\\x00'), (\(f.tenant.rawValue), \(sent), 5, 'text/plain', 1, '\\x00')
            """))
        // Its sender and an admin may add to a queued one; mail that is not outgoing is anyone's.
        for (user, first) in [(f.alice, 20), (f.admin, 30)] {
            #expect(try await CRMRoleSecurityTests.asCRM(f.tenant, user: user) { try $0.execute(recipients([mine, mine, f.received], from: first)) } == 3)
        }
    }

    static func makeFixture() async throws -> Fixture { try await CRMRoleSecurityTests.makeFixture() }
}
