import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// The promises held against the host CRM's role, logged in as that role through a real PostgreSQL:
/// what an attacker with the CRM's connection and the documented settings (`mailroom.tenant_id`,
/// `mailroom.user_id`) tries, refused (42501, a check violation, or 0 rows); what legitimate senders,
/// admins and the service do, still working. docs/security.md lists the rules.
@Suite struct CRMRoleSecurityTests {
    struct Fixture: Sendable {
        let tenant: TenantID
        let other: TenantID
        let admin: Int64, alice: Int64, bob: Int64
        let personal: Int64      // alice's personal account, with SMTP
        let support: Int64       // group account with auto-replies on and SMTP, shared with role 'all'
        let received: Int64      // an email received on support
        let otherFolder: Int64   // a folder of the other tenant
        let otherEmail: Int64    // an email of the other tenant
    }

    static func makeFixture() async throws -> Fixture {
        let owner = try await TestDatabase.pool()
        let (t, _) = try await TestDatabase.makeTenant("sec", in: owner)
        let (o, _) = try await TestDatabase.makeTenant("sec-other", in: owner)
        let ids = try await owner.transaction(tenant: t) { conn -> [Int64] in
            func id(_ sql: SQL) throws -> Int64 { try conn.query(sql).one().decode(at: 0) }
            let admin = try id("INSERT INTO app_user (tenant_id, username, name, is_admin) VALUES (\(t), 'admin', 'Admin', true) RETURNING id")
            let alice = try id("INSERT INTO app_user (tenant_id, username, name) VALUES (\(t), 'alice', 'Alice') RETURNING id")
            let bob = try id("INSERT INTO app_user (tenant_id, username, name) VALUES (\(t), 'bob', 'Bob') RETURNING id")
            let role = try id("INSERT INTO role (tenant_id, name, group_email_account_permission) VALUES (\(t), 'agents', 'all') RETURNING id")
            for u in [alice, bob] { try conn.execute("INSERT INTO user_role (tenant_id, user_id, role_id) VALUES (\(t), \(u), \(role))") }
            let personal = try id("""
                INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address, smtp_host, smtp_port)
                VALUES (\(t), 'personal', \(alice), 'alice', 'alice@acme.test', 'smtp.acme.test', 587) RETURNING id
                """)
            let support = try id("""
                INSERT INTO mail_account (tenant_id, kind, name, address, smtp_host, smtp_port, smtp_shared, auto_reply_enabled)
                VALUES (\(t), 'group', 'Support', 'support@acme.test', 'smtp.acme.test', 587, true, true) RETURNING id
                """)
            let received = try id("""
                INSERT INTO email (tenant_id, message_id, subject, from_address) VALUES (\(t), 'in-1@customer.test', 'Help', 'c@customer.test') RETURNING id
                """)
            try conn.execute("INSERT INTO email_account_link (tenant_id, email_id, account_id) VALUES (\(t), \(received), \(support))")
            return [admin, alice, bob, personal, support, received]
        }
        let others = try await owner.transaction(tenant: o) { conn -> [Int64] in
            let account: Int64 = try conn.query("INSERT INTO mail_account (tenant_id, kind, name, address) VALUES (\(o), 'group', 'X', 'x@other.test') RETURNING id").one().decode(at: 0)
            let folder: Int64 = try conn.query("INSERT INTO mail_folder (tenant_id, account_id, name) VALUES (\(o), \(account), 'INBOX') RETURNING id").one().decode(at: 0)
            let email: Int64 = try conn.query("INSERT INTO email (tenant_id, message_id) VALUES (\(o), 'other@other.test') RETURNING id").one().decode(at: 0)
            try conn.execute("INSERT INTO job_tenant_turn (tenant_id) VALUES (\(o))")
            try conn.execute("INSERT INTO job (tenant_id, kind, unique_key) VALUES (\(o), 'noop', \("sec:" + UUID().uuidString))")
            return [folder, email]
        }
        return Fixture(tenant: t, other: o, admin: ids[0], alice: ids[1], bob: ids[2], personal: ids[3], support: ids[4],
                       received: ids[5], otherFolder: others[0], otherEmail: others[1])
    }

    /// Runs `body` as the CRM role in one transaction of `tenant`, acting as `user` when given.
    static func asCRM<T: Sendable>(_ tenant: TenantID, user: Int64?, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let crm = try await TestDatabase.pool(as: .crm, connections: 1)
        defer { crm.close() }
        return try await crm.transaction(tenant: tenant) { conn in
            if let user { try conn.execute("SELECT set_config('mailroom.user_id', \(String(user)), true)") }
            return try body(conn)
        }
    }

    /// Expects `sql`, run as the CRM, to fail with `state`; returns the message.
    @discardableResult
    static func refused(_ f: Fixture, user: Int64?, _ sql: SQL, state: String = "42501",
                        sourceLocation: SourceLocation = #_sourceLocation) async -> String? {
        do {
            _ = try await asCRM(f.tenant, user: user) { try $0.execute(sql) }
            Issue.record("accepted: \(sql)", sourceLocation: sourceLocation)
            return nil
        } catch let e as PostgresError {
            #expect(e.sqlState == state, "\(sql): \(e)", sourceLocation: sourceLocation)
            return e.message
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    static func queue(_ f: Fixture, as user: Int64?, sender: Int64?, account: Int64) -> SQL {
        "SELECT mailroom_queue_email(\(account), \(sender), ARRAY['c@customer.test'], p_subject => 'Hi', p_text => 'x')"
    }

    // MARK: - Tenants

    @Test func tenantsCannotBeDeletedRewrittenOrCreated() async throws {
        let f = try await Self.makeFixture()
        for sql: SQL in ["DELETE FROM tenant WHERE id = \(f.other)", "DELETE FROM tenant WHERE id = \(f.tenant)",
                         "UPDATE tenant SET name = 'x' WHERE id = \(f.other)", "UPDATE tenant SET max_personal_accounts = 99",
                         "INSERT INTO tenant (slug, name) VALUES ('evil', 'evil')", "TRUNCATE tenant CASCADE"] {
            await Self.refused(f, user: f.admin, sql)
        }
        let seen = try await Self.asCRM(f.tenant, user: nil) { conn in
            try conn.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM tenant").one().decode(String.self, at: 0)
        }
        #expect(seen == String(f.tenant.rawValue))
        let owner = try await TestDatabase.pool()
        let stillThere = try await owner.transaction(tenant: f.other) { try $0.query("SELECT count(*) FROM email").one().decode(Int.self, at: 0) }
        #expect(stillThere == 1)
    }

    // MARK: - The queue and row-level security itself

    @Test func jobsAreOutOfReachAndRowLevelSecurityStaysOn() async throws {
        let f = try await Self.makeFixture()
        for table in ["job", "job_tenant_turn"] {
            for sql in ["SELECT count(*) FROM \(table)", "DELETE FROM \(table)", "UPDATE \(table) SET tenant_id = tenant_id",
                        "INSERT INTO \(table) (tenant_id) VALUES (\(f.tenant))"] {
                await Self.refused(f, user: f.admin, SQL(unsafeSQL: sql))
            }
        }
        // The auto-reply window per sender, the poll log and sync events are the service's: read-only here.
        for table in ["auto_reply_sender", "mail_poll_log", "mail_sync_event"] {
            await Self.refused(f, user: f.admin, SQL(unsafeSQL: "DELETE FROM \(table)"))
            await Self.refused(f, user: f.admin, SQL(unsafeSQL: "UPDATE \(table) SET tenant_id = tenant_id"))
        }
        for sql in ["ALTER TABLE email DISABLE ROW LEVEL SECURITY", "ALTER TABLE job NO FORCE ROW LEVEL SECURITY",
                    "ALTER TABLE tenant DISABLE ROW LEVEL SECURITY", "DROP POLICY tenant_isolation ON email",
                    "CREATE POLICY open ON email USING (true)", "ALTER FUNCTION mailroom_caller_trusted() OWNER TO mailroom_crm",
                    "CREATE OR REPLACE FUNCTION mailroom_caller_trusted() RETURNS boolean LANGUAGE sql AS 'SELECT true'",
                    "SELECT mailroom_auto_reply_take(1, 'x@y.test')", "SELECT mailroom_apply_access('mailroom_crm', 'mailroom_service')",
                    "SELECT mailroom_enqueue_jobs(\(f.tenant), 'send', ARRAY['{\"email\": \(f.otherEmail)}'::jsonb])"] {
            await Self.refused(f, user: f.admin, SQL(unsafeSQL: sql))
        }
        // row_security = off makes a query that RLS would filter fail rather than see everything.
        let error = await #expect(throws: PostgresError.self) {
            try await Self.asCRM(f.tenant, user: nil) { conn in
                try conn.execute("SET LOCAL row_security = off")
                return try conn.query("SELECT count(*) FROM email").one().decode(Int.self, at: 0)
            }
        }
        #expect(error?.sqlState == "42501" && error?.message.contains("row-level security") == true)
        // The other tenant's folder and email are "not found" through the definer functions.
        await Self.refused(f, user: f.admin, "SELECT mailroom_request_poll(\(f.otherFolder))", state: "22023")
        await Self.refused(f, user: f.admin, "SELECT mailroom_enqueue_send(\(f.otherEmail))", state: "22023")
    }

    @Test func everyTenantTableIsClosedToOtherTenants() async throws {
        let f = try await Self.makeFixture()
        let tables = try await Self.asCRM(f.tenant, user: nil) { conn in
            try conn.query("""
                SELECT c.relname, has_table_privilege(c.oid, 'UPDATE')
                FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
                WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND has_table_privilege(c.oid, 'SELECT')
                ORDER BY 1
                """).map { (try $0.decode(String.self, at: 0), try $0.decode(Bool.self, at: 1)) }
        }
        #expect(tables.count >= 30)
        #expect(!tables.contains { $0.0 == "job" || $0.0 == "job_tenant_turn" })
        for (table, writable) in tables {
            let seen = try await Self.asCRM(f.tenant, user: nil) { conn in
                try conn.query(SQL(unsafeSQL: "SELECT count(*) FROM \(table) WHERE tenant_id = \(f.other.rawValue)")).one().decode(Int.self, at: 0)
            }
            #expect(seen == 0, "\(table)")
            guard writable else { continue }
            let changed = try await Self.asCRM(f.tenant, user: nil) { conn in
                try conn.execute(SQL(unsafeSQL: "UPDATE \(table) SET tenant_id = tenant_id WHERE tenant_id = \(f.other.rawValue)"))
            }
            #expect(changed == 0, "\(table)")
        }
    }

    // MARK: - Sending

    @Test func forgedAutoRepliesAreRefused() async throws {
        let f = try await Self.makeFixture()
        @Sendable func forged(_ messageID: String) -> SQL {
            """
            INSERT INTO email (tenant_id, message_id, subject, from_address, status, send_account_id, reply_to_email_id, is_auto_reply, queued_at)
            VALUES (\(f.tenant), \(messageID), 'Re: Help', 'support@acme.test', 'Sending', \(f.support), \(f.received), true, now())
            RETURNING id
            """
        }
        for user in [nil, f.alice, f.admin] {
            let message = await Self.refused(f, user: user, forged("forged@acme.test"))
            #expect(message?.contains("only the service queues auto-replies") == true, "\(String(describing: message))")
        }
        // Without the flag and without a sender: still not outgoing mail the CRM may write.
        await Self.refused(f, user: f.admin, """
            INSERT INTO email (tenant_id, message_id, status, send_account_id, queued_at)
            VALUES (\(f.tenant), 'nosender@acme.test', 'Sending', \(f.support), now())
            """)
        // The service's own auto-reply still works, logged in as the service role.
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        let job: Int64 = try await service.transaction(tenant: f.tenant) { conn in
            let id: Int64 = try conn.query(forged("auto-\(UUID().uuidString)@acme.test")).one().decode(at: 0)
            return try conn.query("SELECT mailroom_enqueue_send(\(id))").one().decode(at: 0)
        }
        #expect(job > 0)
    }

    @Test func theActingUserIsTheSenderUnlessAnAdmin() async throws {
        let f = try await Self.makeFixture()
        // alice may not queue as the admin, nor write a row naming the admin as its sender.
        await Self.refused(f, user: f.alice, Self.queue(f, as: f.alice, sender: f.admin, account: f.support))
        await Self.refused(f, user: f.alice, """
            INSERT INTO email (tenant_id, message_id, status, send_account_id, created_by_user_id, queued_at)
            VALUES (\(f.tenant), 'as-admin@acme.test', 'Sending', \(f.support), \(f.admin), now())
            """)
        await Self.refused(f, user: f.bob, Self.queue(f, as: f.bob, sender: f.alice, account: f.personal))
        // No acting user: a CRM transaction cannot send at all.
        let message = await Self.refused(f, user: nil, Self.queue(f, as: nil, sender: f.alice, account: f.personal))
        #expect(message?.contains("no acting user") == true)
        // Legitimate: alice as herself (explicitly or by default), the admin on alice's behalf.
        let ids = try await Self.asCRM(f.tenant, user: f.alice) { conn in
            [try conn.query(Self.queue(f, as: f.alice, sender: f.alice, account: f.personal)).one().decode(Int64.self, at: 0),
             try conn.query(Self.queue(f, as: f.alice, sender: nil, account: f.support)).one().decode(Int64.self, at: 0)]
        }
        let byAdmin = try await Self.asCRM(f.tenant, user: f.admin) { conn in
            try conn.query(Self.queue(f, as: f.admin, sender: f.alice, account: f.personal)).one().decode(Int64.self, at: 0)
        }
        let senders = try await Self.asCRM(f.tenant, user: nil) { conn in
            try conn.query("SELECT string_agg(created_by_user_id::text, ',' ORDER BY id) FROM email WHERE id IN (\(ids[0]), \(ids[1]), \(byAdmin))").one().decode(String.self, at: 0)
        }
        #expect(senders == "\(f.alice),\(f.alice),\(f.alice)")
    }

    @Test func onlyTheSenderAnAdminOrTheServiceChangesAQueuedEmail() async throws {
        let f = try await Self.makeFixture()
        let queued = try await Self.asCRM(f.tenant, user: f.alice) { conn in
            let id: Int64 = try conn.query("""
                SELECT mailroom_queue_email(\(f.personal), \(f.alice), ARRAY['c@customer.test'], p_subject => 'Hi', p_text => 'x',
                    p_attachments => '[{"filename": "a.txt", "content_type": "text/plain", "data": "eA=="}]')
                """).one().decode(at: 0)
            return id
        }
        let attempts: [SQL] = [
            "UPDATE email SET subject = 'Pay here' WHERE id = \(queued)",
            "UPDATE email SET body_text = 'evil' WHERE id = \(queued)",
            "UPDATE email SET status = 'Failed' WHERE id = \(queued)",
            "UPDATE email SET created_by_user_id = \(f.bob) WHERE id = \(queued)",
            "DELETE FROM email WHERE id = \(queued)",
            "INSERT INTO email_recipient (tenant_id, email_id, kind, position, address) VALUES (\(f.tenant), \(queued), 'bcc', 9, 'spy@evil.test')",
            "UPDATE email_recipient SET address = 'spy@evil.test' WHERE email_id = \(queued)",
            "DELETE FROM email_recipient WHERE email_id = \(queued)",
            "UPDATE attachment SET data = '\\x00' WHERE email_id = \(queued)",
            "INSERT INTO attachment (tenant_id, email_id, position, content_type, size, data) VALUES (\(f.tenant), \(queued), 5, 'text/plain', 1, '\\x00')",
        ]
        for sql in attempts { await Self.refused(f, user: f.bob, sql) }
        // Linking the email to a record is not content: any user of the tenant may.
        let linked = try await Self.asCRM(f.tenant, user: f.bob) { try $0.execute("UPDATE email SET parent_type = NULL WHERE id = \(queued)") }
        #expect(linked == 1)
        // Its sender and an admin may change it.
        for user in [f.alice, f.admin] {
            let n = try await Self.asCRM(f.tenant, user: user) { conn in
                try conn.execute("UPDATE email SET subject = \("Hi from \(user)") WHERE id = \(queued)")
                    + conn.execute("UPDATE email_recipient SET name = 'C' WHERE email_id = \(queued) AND kind = 'to'")
            }
            #expect(n == 2)
        }
    }

    @Test func aSentEmailIsNeverSentAgain() async throws {
        let f = try await Self.makeFixture()
        let id = try await Self.asCRM(f.tenant, user: f.alice) { conn in
            try conn.query(Self.queue(f, as: f.alice, sender: f.alice, account: f.personal)).one().decode(Int64.self, at: 0)
        }
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        _ = try await service.transaction(tenant: f.tenant) { try $0.execute("UPDATE email SET status = 'Sent', sent_at = now() WHERE id = \(id)") }
        for user in [f.alice, f.admin] {
            await Self.refused(f, user: user, "UPDATE email SET status = 'Sending' WHERE id = \(id)")
            await Self.refused(f, user: user, "UPDATE email SET subject = 'again', status = 'Sending', sent_at = NULL WHERE id = \(id)")
            await Self.refused(f, user: user, "UPDATE email_recipient SET address = 'other@x.test' WHERE email_id = \(id) AND kind = 'to'")
            await Self.refused(f, user: user, "SELECT mailroom_enqueue_send(\(id))", state: "22023")
        }
        // Not even the service sets a sent email back.
        await #expect(throws: PostgresError.self) {
            try await service.transaction(tenant: f.tenant) { try $0.execute("UPDATE email SET status = 'Sending' WHERE id = \(id)") }
        }
    }

    // MARK: - Shadowing and definer functions

    @Test func aTemporaryTableCannotShadowTheRules() async throws {
        let f = try await Self.makeFixture()
        // In the CRM's session: a temporary app_user in which bob is an admin, and a temporary
        // mail_account in which the support account is bob's personal one.
        var message: String?
        do {
            _ = try await Self.asCRM(f.tenant, user: f.bob) { conn in
                try conn.execute("""
                    CREATE TEMP TABLE app_user ON COMMIT DROP AS
                    SELECT tenant_id, id, username, name, true AS is_active, true AS is_admin FROM public.app_user
                    """)
                try conn.execute("CREATE TEMP TABLE user_role (tenant_id bigint, user_id bigint, role_id bigint) ON COMMIT DROP")
                // Unqualified, the session now reads its own app_user first.
                #expect(try conn.query("SELECT bool_and(is_admin) FROM app_user").one().decode(Bool.self, at: 0))
                return try conn.execute(Self.queue(f, as: f.bob, sender: f.alice, account: f.personal))
            }
            Issue.record("bob queued as alice through a shadow table")
        } catch let e as PostgresError {
            #expect(e.sqlState == "42501")
            message = e.message
        }
        #expect(message?.contains("outgoing mail is written only by its sender or an admin") == true, "\(String(describing: message))")
    }

    @Test func everyFunctionPinsItsSearchPathAndOnlyKnownOnesRunAsOwner() async throws {
        _ = try await Self.makeFixture()
        let owner = try await TestDatabase.pool()
        let (unpinned, definers) = try await owner.withConnection { conn in
            (try conn.query("""
                SELECT coalesce(string_agg(proname, ',' ORDER BY proname), '') FROM pg_proc
                WHERE pronamespace = current_schema()::regnamespace
                  AND NOT coalesce(format('search_path=%I, pg_temp', current_schema()) = ANY (proconfig), false)
                """).one().decode(String.self, at: 0),
             try conn.query("""
                SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace AND prosecdef
                """).one().decode(String.self, at: 0))
        }
        #expect(unpinned == "")
        // Each checks its caller's tenant (functions/20_sending.sql, functions/30_jobs.sql); the OAuth
        // login's also its acting user (functions/41_oauth_login.sql); `mailroom_may_send` only reads
        // the current tenant's rows and answers a boolean (owner rights keep its plan cached); the
        // event writer and numbering write only rows that pass the transaction tenant's policy
        // (functions/50_events.sql); the event triggers write only events of the rows changed, which
        // passed that policy, and the CRM may change those rows but not write events
        // (functions/51_event_triggers.sql); the API key lookup answers only the tenant of a live key
        // whose secret the caller holds, and the CRM may not call it (functions/53_api_keys.sql).
        #expect(definers == "mailroom_account_connection_event,mailroom_account_repoll,mailroom_api_key_tenant,mailroom_case_assigned_event,"
            + "mailroom_case_inserted_events,mailroom_case_reopened_event,mailroom_email_bounce_events,mailroom_email_inserted_events,mailroom_email_updated_events,"
            + "mailroom_emit_event,mailroom_enqueue_sends,mailroom_grant_reauth_event,mailroom_may_send,mailroom_number_events,"
            + "mailroom_oauth_begin,mailroom_request_poll")
    }

    // MARK: - Sanitised HTML

    @Test func onlyTheServiceWritesTheSanitisedHTML() async throws {
        let f = try await Self.makeFixture()
        let owner = try await TestDatabase.pool()
        _ = try await owner.transaction(tenant: f.tenant) { conn in
            try conn.execute("UPDATE email SET body_html = '<p>hi</p>', body_html_safe = '<p>hi</p>' WHERE id = \(f.received)")
        }
        for user in [nil, f.admin] {
            await Self.refused(f, user: user, "UPDATE email SET body_html_safe = '<img src=x onerror=alert(1)>' WHERE id = \(f.received)")
            await Self.refused(f, user: user, """
                INSERT INTO email (tenant_id, message_id, body_html, body_html_safe)
                VALUES (\(f.tenant), \("x-\(UUID().uuidString)@x.test"), '<script>x</script>', '<script>x</script>')
                """)
        }
        // New HTML from a client drops the stale copy rather than keeping one that no longer matches.
        let safe = try await Self.asCRM(f.tenant, user: f.admin) { conn in
            try conn.execute("UPDATE email SET body_html = '<script>alert(1)</script>' WHERE id = \(f.received)")
            return try conn.query("SELECT body_html_safe FROM email WHERE id = \(f.received)").one().decode(String?.self, at: 0)
        }
        #expect(safe == nil)
    }

    // MARK: - Header injection and strict settings in raw rows

    @Test func headerColumnsRefuseLineBreaksWithoutEchoingThem() async throws {
        let f = try await Self.makeFixture()
        let attempts: [SQL] = [
            "INSERT INTO email (tenant_id, message_id, subject) VALUES (\(f.tenant), 'crlf@x.test', \("Hi\r\nBcc: secret-victim@x.test"))",
            "UPDATE email SET from_name = \("Eve\nBcc: secret-victim@x.test") WHERE id = \(f.received)",
            "UPDATE email SET \"references\" = ARRAY[\("a@x\r\nBcc: secret-victim@x.test")] WHERE id = \(f.received)",
            "INSERT INTO email_recipient (tenant_id, email_id, kind, position, address, name) VALUES (\(f.tenant), \(f.received), 'cc', 7, 'a@x.test', \("A\r\nBcc: secret-victim@x.test"))",
            "UPDATE mail_account SET display_name = \("Support\r\nBcc: secret-victim@x.test") WHERE id = \(f.support)",
            "UPDATE mail_account SET reply_to = \("r@x.test\nBcc: secret-victim@x.test") WHERE id = \(f.support)",
        ]
        for sql in attempts {
            let message = await Self.refused(f, user: f.admin, sql, state: "23514")
            #expect(message?.contains("secret-victim") == false)
        }
    }

    @Test func unknownSettingValuesAreRefused() async throws {
        let f = try await Self.makeFixture()
        for sql: SQL in [
            "UPDATE mail_account SET imap_security = 'maybe' WHERE id = \(f.support)",
            "UPDATE mail_account SET smtp_auth = 'magic' WHERE id = \(f.support)",
            "UPDATE mail_account SET case_distribution = 'random' WHERE id = \(f.support)",
            "UPDATE role SET group_email_account_permission = 'some' WHERE tenant_id = \(f.tenant)",
        ] {
            await Self.refused(f, user: f.admin, sql, state: "23514")
        }
        await Self.refused(f, user: f.admin, "UPDATE mail_account SET case_distribution = NULL WHERE id = \(f.support)", state: "23502")
    }
}
