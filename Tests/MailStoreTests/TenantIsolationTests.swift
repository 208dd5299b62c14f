import Foundation
import MailCore
import MailTesting
import Testing
@testable import MailStore

/// Row-level security: the database itself keeps tenants apart, whatever the client does.
@Suite struct TenantIsolationTests {
    @Test func aTenantSeesOnlyItsOwnRows() async throws {
        let pool = try await TestDatabase.pool()
        let (a, _) = try await TestDatabase.makeTenant("iso-a", in: pool)
        let (b, _) = try await TestDatabase.makeTenant("iso-b", in: pool)
        for t in [a, b] {
            try await pool.transaction(tenant: t) { conn in
                try conn.execute("INSERT INTO team (tenant_id, name) VALUES (\(t), 'support')")
            }
        }
        let seenByA = try await pool.transaction(tenant: a) { conn in
            try conn.query("SELECT DISTINCT tenant_id FROM team").map { try $0.decode(TenantID.self, at: 0) }
        }
        #expect(seenByA == [a])
        let seenWithoutTenant = try await pool.withConnection { conn in
            try conn.query("SELECT count(*) FROM team WHERE tenant_id IN (\(a), \(b))").one().decode(Int.self, at: 0)
        }
        #expect(seenWithoutTenant == 0, "no tenant set → no rows")
    }

    @Test func writingAnotherTenantsRowIsRefused() async throws {
        let pool = try await TestDatabase.pool()
        let (a, _) = try await TestDatabase.makeTenant("iso-w-a", in: pool)
        let (b, _) = try await TestDatabase.makeTenant("iso-w-b", in: pool)
        let error = await #expect(throws: PostgresError.self) {
            try await pool.transaction(tenant: a) { conn in
                try conn.execute("INSERT INTO team (tenant_id, name) VALUES (\(b), 'intruder')")
            }
        }
        #expect(error?.sqlState == "42501")
        // Updates cannot move a row across tenants either.
        try await pool.transaction(tenant: a) { conn in
            try conn.execute("INSERT INTO team (tenant_id, name) VALUES (\(a), 'mine')")
        }
        let moveError = await #expect(throws: PostgresError.self) {
            try await pool.transaction(tenant: a) { conn in
                try conn.execute("UPDATE team SET tenant_id = \(b) WHERE name = 'mine'")
            }
        }
        #expect(moveError?.sqlState == "42501")
    }

    @Test func everyTenantTableHasForcedRowLevelSecurity() async throws {
        let pool = try await TestDatabase.pool()
        let unprotected = try await pool.withConnection { conn in
            try conn.query("""
                SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
                WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
                  AND NOT (c.relrowsecurity AND (c.relforcerowsecurity OR c.relname IN ('job', 'job_tenant_turn')))
                """).map { try $0.decode(String.self, at: 0) }
        }
        // The queue tables are enabled but not forced: the service role claims across tenants in one
        // statement (see migrations/0002_jobs.sql); every other client is still held to its tenant.
        #expect(unprotected == [])
        let primaryKeysWithoutTenant = try await pool.withConnection { conn in
            try conn.query("""
                SELECT c.conrelid::regclass::text FROM pg_constraint c
                WHERE c.contype = 'p' AND c.connamespace = 'public'::regnamespace
                  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attname = 'tenant_id')
                  AND (SELECT attname FROM pg_attribute WHERE attrelid = c.conrelid AND attnum = c.conkey[1]) <> 'tenant_id'
                  AND c.conrelid::regclass::text <> 'job'
                """).map { try $0.decode(String.self, at: 0) }
        }
        #expect(primaryKeysWithoutTenant == [])
    }
}
