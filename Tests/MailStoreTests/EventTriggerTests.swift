import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// The events that changes write (functions/51_event_triggers.sql), driven by the roles that make
/// the changes: the CRM (which may not write events itself), the service and the owner. Every event
/// found must validate against its published schema (docs/events/). Import and sending against the
/// real mail servers are in MailWorkerTests.EventEmissionTests.
@Suite struct EventTriggerTests {
    struct Fixture {
        var tenant: TenantID
        var admin: Int64, alice: Int64, bob: Int64, account: Int64
    }

    static func makeFixture(_ prefix: String) async throws -> Fixture {
        let owner = try await TestDatabase.pool()
        let (t, _) = try await TestDatabase.makeTenant(prefix, in: owner)
        return try await owner.transaction(tenant: t) { conn in
            func id(_ sql: SQL) throws -> Int64 { try conn.query(sql).one().decode(at: 0) }
            return Fixture(
                tenant: t,
                admin: try id("INSERT INTO app_user (tenant_id, username, name, is_admin) VALUES (\(t), 'admin', 'Admin', true) RETURNING id"),
                alice: try id("INSERT INTO app_user (tenant_id, username, name) VALUES (\(t), 'alice', 'Alice') RETURNING id"),
                bob: try id("INSERT INTO app_user (tenant_id, username, name) VALUES (\(t), 'bob', 'Bob') RETURNING id"),
                account: try id("""
                    INSERT INTO mail_account (tenant_id, kind, name, address, imap_host, imap_port)
                    VALUES (\(t), 'group', 'Support', 'support@acme.test', 'imap.acme.test', 993) RETURNING id
                    """))
        }
    }

    static func asCRM(_ f: Fixture, _ body: @escaping @Sendable (PostgresConnection) throws -> Void) async throws {
        let crm = try await TestDatabase.pool(as: .crm, connections: 1)
        defer { crm.close() }
        try await crm.transaction(tenant: f.tenant) { conn in
            try conn.execute("SELECT set_config('mailroom.user_id', \(String(f.admin)), true)")
            try body(conn)
        }
    }

    /// The tenant's events, each checked against its schema.
    static func events(_ f: Fixture, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [EventRecord] {
        let events = try await EventSchemas.events(try await TestDatabase.pool(), tenant: f.tenant)
        for e in events {
            #expect(try EventSchemas.violations(e) == [], "\(e.type) \(e.payload)", sourceLocation: sourceLocation)
        }
        return events
    }

    @Test func caseChangesByTheCRMWriteCaseEvents() async throws {
        let f = try await Self.makeFixture("ev-case")
        let (t, alice, bob) = (f.tenant, f.alice, f.bob)
        try await Self.asCRM(f) { conn in
            try conn.execute("""
                INSERT INTO support_case (tenant_id, number, name, description, status, assigned_user_id, source_account_id)
                VALUES (\(t), 1, 'Printer', 'It burns (a body, not in any event)', 'Assigned', \(alice), \(f.account))
                """)
            try conn.execute("INSERT INTO support_case (tenant_id, number, name) VALUES (\(t), 2, 'Unassigned')")
        }
        try await Self.asCRM(f) { conn in
            // Activity alone, and a status move between open ones, are no events.
            try conn.execute("UPDATE support_case SET last_activity_at = now() WHERE number = 1")
            try conn.execute("UPDATE support_case SET status = 'Pending' WHERE number = 1")
            try conn.execute("UPDATE support_case SET assigned_user_id = \(bob) WHERE number = 1")
            try conn.execute("UPDATE support_case SET assigned_user_id = \(bob), status = 'Closed' WHERE number = 1")
            try conn.execute("UPDATE support_case SET status = 'Rejected' WHERE number = 1")  // closed to closed
        }
        try await Self.asCRM(f) { try $0.execute("UPDATE support_case SET status = 'Assigned' WHERE number = 1") }

        let events = try await Self.events(f)
        #expect(events.map(\.type) == ["case.created", "case.assigned", "case.created", "case.assigned", "case.reopened"])
        #expect(events.map(\.seq) == [1, 2, 3, 4, 5])
        let created = try EventSchemas.payload(events[0])
        #expect(created["number"] == .integer(1) && created["assigned_user_id"] == .integer(alice.self))
        #expect(created["source_account_id"] == .integer(f.account))
        #expect(!events[0].payload.contains("It burns"))
        let reassigned = try EventSchemas.payload(events[3])
        #expect(reassigned["assigned_user_id"] == .integer(bob) && reassigned["previous_assigned_user_id"] == .integer(alice))
        let reopened = try EventSchemas.payload(events[4])
        #expect(reopened["previous_status"] == .string("Rejected") && reopened["status"] == .string("Assigned"))
    }

    @Test func aRolledBackChangeWritesNoEventAndTenantsWithEventsOffWriteNone() async throws {
        let f = try await Self.makeFixture("ev-rollback")
        let t = f.tenant
        await #expect(throws: CancellationError.self) {
            try await Self.asCRM(f) { conn in
                try conn.execute("INSERT INTO support_case (tenant_id, number, name, assigned_user_id) VALUES (\(t), 1, 'x', \(f.alice))")
                throw CancellationError()
            }
        }
        #expect(try await Self.events(f).isEmpty)

        let owner = try await TestDatabase.pool()
        try await owner.withConnection { try TenantQueries.tenantSetEventsEnabled($0, tenant: t, enabled: false) }
        try await Self.asCRM(f) { conn in
            try conn.execute("INSERT INTO support_case (tenant_id, number, name, assigned_user_id) VALUES (\(t), 1, 'x', \(f.alice))")
            try conn.execute("UPDATE support_case SET assigned_user_id = \(f.bob)")
        }
        #expect(try await Self.events(f).isEmpty)
        try await owner.withConnection { try TenantQueries.tenantSetEventsEnabled($0, tenant: t, enabled: true) }
        try await Self.asCRM(f) { try $0.execute("UPDATE support_case SET assigned_user_id = \(f.alice)") }
        #expect(try await Self.events(f).map(\.type) == ["case.assigned"])
    }

    /// Outgoing mail the CRM writes as a row and then moves to Sending is queued as well; giving up on
    /// it and queueing it again are events too.
    @Test func anEmailMovedIntoSendingIsQueued() async throws {
        let f = try await Self.makeFixture("ev-draft")
        let (t, admin, account) = (f.tenant, f.admin, f.account)
        try await Self.asCRM(f) { conn in
            try conn.execute("""
                INSERT INTO email (tenant_id, message_id, subject, from_address, status, created_by_user_id, send_account_id)
                VALUES (\(t), 'draft-1@acme.test', 'Draft', 'support@acme.test', 'Draft', \(admin), \(account))
                """)
        }
        #expect(try await Self.events(f).isEmpty)
        for status in ["Sending", "Failed", "Sending"] {
            try await Self.asCRM(f) { try $0.execute("UPDATE email SET status = \(status), send_error = 'refused' WHERE message_id = 'draft-1@acme.test'") }
        }
        let events = try await Self.events(f)
        #expect(events.map(\.type) == ["email.queued", "email.send_failed", "email.queued"])
        #expect(try EventSchemas.payload(events[0])["user_id"] == .integer(admin))
        #expect(try EventSchemas.payload(events[1])["error"] == .string("refused"))
    }

    /// The workers rewrite an account's error at every failed poll: only the transitions are events.
    @Test func accountErrorsWriteAnEventOnlyWhenTheyStartAndEnd() async throws {
        let f = try await Self.makeFixture("ev-conn")
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        let account = AccountID(f.account)
        for error in ["LOGIN failed: authentication failed", "LOGIN failed: authentication failed", "connection refused", nil, nil,
                      "timed out", nil] as [String?] {
            try await service.transaction(tenant: f.tenant) {
                try MailAccountQueries.mailAccountSetError($0, tenant: f.tenant, id: account, error: error)
            }
        }
        let events = try await Self.events(f)
        #expect(events.map(\.type) == ["account.connection_failed", "account.connection_restored",
                                       "account.connection_failed", "account.connection_restored"])
        #expect(try EventSchemas.payload(events[0])["error"] == .string("LOGIN failed: authentication failed"))
        #expect(try EventSchemas.payload(events[1])["previous_error"] == .string("connection refused"))
        #expect(try EventSchemas.payload(events[1])["kind"] == .string("group"))
    }

    @Test func anOAuthGrantNeedingANewLoginWritesOneEventPerEntry() async throws {
        let f = try await Self.makeFixture("ev-reauth")
        let t = f.tenant
        let owner = try await TestDatabase.pool()
        try await owner.transaction(tenant: t) { conn in
            let client: Int64 = try conn.query("""
                INSERT INTO oauth_client (tenant_id, name, provider, client_id, token_url, scopes)
                VALUES (\(t), 'idp', 'generic', 'cid', 'https://idp.test/token', '{imap}') RETURNING id
                """).one().decode(at: 0)
            try conn.execute("UPDATE mail_account SET imap_auth = 'oauth2', oauth_client_id = \(client) WHERE id = \(f.account)")
        }
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        let account = AccountID(f.account)
        func login() async throws {
            _ = try await service.transaction(tenant: t) {
                try OAuthGrantQueries.grantStoreLogin($0, tenant: t, account: account, refreshToken: [1, 2, 3], accessToken: [4, 5],
                                                     expiresAt: Date().addingTimeInterval(3600), lifetime: .seconds(3600))
            }
        }
        func refuse() async throws -> Bool {
            try await service.transaction(tenant: t) {
                try OAuthGrantQueries.grantRequireReauth($0, tenant: t, account: account, reason: "invalid_grant: AADSTS70008 expired")
            }
        }
        try await login()
        #expect(try await refuse())
        #expect(try await !refuse())
        try await login()
        #expect(try await refuse())
        let events = try await Self.events(f)
        #expect(events.map(\.type) == ["account.reauth_required", "account.reauth_required"])
        let payload = try EventSchemas.payload(events[0])
        #expect(payload["reason"] == .string("invalid_grant: AADSTS70008 expired") && payload["account_id"] == .integer(f.account))
        #expect(!events.contains { $0.payload.contains("\"refresh_token\"") })
    }

    /// Pruning takes only a prefix of the sequence, old enough, in bounded batches.
    @Test func pruningDeletesTheExpiredPrefixInBatches() async throws {
        let f = try await Self.makeFixture("ev-prune")
        let t = f.tenant
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        for n in 1...7 {
            try await service.transaction(tenant: t) { try EventQueries.emit($0, tenant: t, type: "test.written", payload: "{\"n\": \(n)}") }
        }
        // Events 1–5 are old, 6 is recent, 7 is old again (a transaction that started long before it committed).
        let owner = try await TestDatabase.pool()
        try await owner.transaction(tenant: t) { conn in
            try conn.execute("UPDATE event SET occurred_at = now() - interval '40 days' WHERE tenant_id = \(t) AND seq IN (1, 2, 3, 4, 5, 7)")
        }
        let now = Date()
        let first = try await service.transaction(tenant: t) { try EventQueries.pruneExpired($0, tenant: t, now: now, limit: 2) }
        let second = try await service.transaction(tenant: t) { try EventQueries.pruneExpired($0, tenant: t, now: now, limit: 2) }
        let third = try await service.transaction(tenant: t) { try EventQueries.pruneExpired($0, tenant: t, now: now, limit: 2) }
        let fourth = try await service.transaction(tenant: t) { try EventQueries.pruneExpired($0, tenant: t, now: now, limit: 2) }
        #expect([first, second, third, fourth] as [Int] == [2, 2, 1, 0])
        let left = try await EventSchemas.events(owner, tenant: t).map(\.seq)
        #expect(left == [6, 7])
        // The tenant's own retention decides: with a longer one nothing more goes, even 6 past 30 days.
        try await owner.withConnection { try $0.execute("UPDATE tenant SET event_retention = '60 days' WHERE id = \(t)") }
        #expect(try await service.transaction(tenant: t) {
            try EventQueries.pruneExpired($0, tenant: t, now: now.addingTimeInterval(35 * 86400), limit: 10)
        } == 0)
    }
}
