import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// The debounced wake-up of `mailroom_enqueue_jobs` (functions/30_jobs.sql): a transaction that
/// queues a send notifies the workers only when no send of its tenant is already due and ready.
/// Counted on a database of its own, so no other test's jobs notify; notifications of different
/// transactions arrive in commit order, so the marker committed last bounds the wait.
@Suite struct EnqueueWakeUpTests {
    /// An admin and a group account with SMTP in a new tenant of `pool`'s database.
    static func sender(_ prefix: String, in pool: PostgresPool) async throws -> (tenant: TenantID, user: Int64, account: Int64) {
        let (tenant, _) = try await TestDatabase.makeTenant(prefix, in: pool)
        let (user, account) = try await pool.transaction(tenant: tenant) { conn -> (Int64, Int64) in
            (try conn.query("""
                INSERT INTO app_user (tenant_id, username, name, is_admin) VALUES (\(tenant), 'admin', 'Admin', true) RETURNING id
                """).one().decode(at: 0),
             try conn.query("""
                INSERT INTO mail_account (tenant_id, kind, name, address, smtp_host, smtp_port, smtp_shared)
                VALUES (\(tenant), 'group', 'Support', 'support@acme.test', 'smtp.acme.test', 587, true) RETURNING id
                """).one().decode(at: 0))
        }
        return (tenant, user, account)
    }

    /// Queues one email in a transaction of its own; returns its send job's id.
    static func queue(_ s: (tenant: TenantID, user: Int64, account: Int64), in pool: PostgresPool) async throws -> Int64 {
        try await pool.transaction(tenant: s.tenant) { conn in
            let email: Int64 = try conn.query("""
                SELECT mailroom_queue_email(\(s.account), \(s.user), ARRAY['customer@example.test'], p_subject => 'Hi')
                """).one().decode(at: 0)
            return try conn.query("SELECT id FROM job WHERE unique_key = \("send:email:\(email)")").one().decode(at: 0)
        }
    }

    /// Notifies `marker` from a transaction of its own, then returns the channels `listener` received,
    /// in order, up to and including the marker (at most 30 s).
    static func notifications(_ listener: PostgresListener, until marker: String, pool: PostgresPool) async throws -> [String] {
        try await pool.withConnection { try $0.execute("SELECT pg_notify(\(marker), '')") }
        var fired: [String] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while !fired.contains(marker), ContinuousClock.now < deadline {
            fired += try await listener.wait(timeout: .seconds(1))
        }
        return fired
    }

    @Test func aSendIsAnnouncedOnlyWhenNoneOfItsTenantIsWaiting() async throws {
        let (url, name, pool) = try await TestDatabase.createMigratedDatabase(connections: 2)
        defer { pool.close() }
        let listener = PostgresListener(conninfo: url, channels: ["mailroom_jobs", "wake_test_marker"])
        var fired: [String] = []
        do {
            _ = try await listener.wait(timeout: .milliseconds(1))  // LISTEN before anything is queued
            let a = try await Self.sender("wake-a", in: pool), b = try await Self.sender("wake-b", in: pool)
            _ = try await Self.queue(a, in: pool)      // 1: nothing waits: notifies
            _ = try await Self.queue(a, in: pool)      // a's first send waits: no notification
            _ = try await Self.queue(b, in: pool)      // 2: another tenant: notifies
            let claimed = try await pool.withConnection { conn in
                try JobQueries.jobCompleteAndClaim(conn, [], owner: "wake-test", limit: 10, perTenantCap: 10,
                                                   lease: .seconds(60), kinds: ["send"]).claimed.count
            }
            #expect(claimed == 3)
            let later = try await Self.queue(a, in: pool)  // 3: a's sends are running, none waits: notifies
            // As a retry would leave it: ready, due in an hour. A job due later is no announced job.
            try await pool.withConnection { try $0.execute("UPDATE job SET run_at = now() + interval '1 hour' WHERE id = \(later)") }
            _ = try await Self.queue(a, in: pool)      // 4: notifies
            fired = try await Self.notifications(listener, until: "wake_test_marker", pool: pool)
        } catch {
            Issue.record(error)
        }
        listener.close()
        try await TestDatabase.dropDatabase(name)
        #expect(fired == Array(repeating: "mailroom_jobs", count: 4) + ["wake_test_marker"])
    }
}
