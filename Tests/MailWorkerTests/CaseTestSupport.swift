import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTesting
@testable import MailWorker

/// Helpers of the CRM tests: case-creating accounts, extra users, a runner that verifies record tokens.
extension WorkerFixture {
    /// A group account on `box` that creates cases for team support.
    func caseAccount(_ box: TestMailbox, distribution: String = "round_robin", position: String? = "agent",
                     extraCase: String = "", folders: [String]? = nil) -> Account {
        var rule = "case: {create: true, distribution: \(distribution), team: support"
        if let position { rule += ", position: \(position)" }
        if distribution == "direct" { rule += ", assign_to: alice" }
        rule += extraCase + "}"
        return Account(name: "Support", mailbox: box, imapExtra: folders.map { ["folders: [\($0.joined(separator: ", "))]"] } ?? [],
                       extra: [rule])
    }

    /// A runner whose importer verifies signed record tokens with the master key.
    func caseRunner() -> ImportRunner {
        var settings = ImportSettings()
        settings.outboundPolicy = server.outboundPolicy
        settings.recordTokenKey = key
        settings.connectTimeout = .seconds(30)
        settings.ioTimeout = .seconds(20)
        var logger = Logger(label: "test.crm")
        logger.logLevel = .error
        return ImportRunner(pool: pool, secrets: SecretBox(key: key), settings: settings, logger: logger)
    }

    /// Adds a member of team support (position nil: member without position).
    @discardableResult
    func addUser(_ tenant: TenantID, _ username: String, position: String? = "agent", active: Bool = true) async throws -> UserID {
        try await query(tenant) { conn in
            let id: UserID = try conn.query("""
                INSERT INTO app_user (tenant_id, username, name, is_active) VALUES (\(tenant), \(username), \(username), \(active))
                RETURNING id
                """).one().decode(at: 0)
            try conn.execute("""
                INSERT INTO email_address_owner (tenant_id, address, user_id, is_primary) VALUES (\(tenant), \(username + "@acme.test"), \(id), true)
                """)
            try conn.execute("""
                INSERT INTO team_user (tenant_id, team_id, user_id, position)
                SELECT \(tenant), id, \(id), \(position) FROM team WHERE tenant_id = \(tenant) AND name = 'support'
                """)
            return id
        }
    }

    func userID(_ tenant: TenantID, _ username: String) async throws -> UserID {
        try await query(tenant) { try $0.query("SELECT id FROM app_user WHERE username = \(username)").one().decode(at: 0) }
    }

    /// (number, assignee username or nil, status) of every case, by number.
    func cases(_ tenant: TenantID) async throws -> [(number: Int64, assignee: String?, status: String)] {
        try await query(tenant) { conn in
            try conn.query("""
                SELECT c.number, u.username, c.status FROM support_case c
                LEFT JOIN app_user u ON u.tenant_id = c.tenant_id AND u.id = c.assigned_user_id ORDER BY c.number
                """).map { (try $0.decode(at: 0), try $0.decode(at: 1), try $0.decode(at: 2)) }
        }
    }

    /// The parent record of the email with this Message-ID.
    func parent(_ tenant: TenantID, _ messageID: String) async throws -> RecordRef? {
        try await query(tenant) { conn in
            let row = try conn.query("SELECT parent_type, parent_id FROM email WHERE message_id = \(messageID)").one()
            guard let type: String = try row.decode(at: 0) else { return nil }
            return RecordRef(RecordType(rawValue: type)!, try row.decode(at: 1))
        }
    }
}
