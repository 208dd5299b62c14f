import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Testing

/// Who may read and write API keys (functions/10_access.sql, functions/53_api_keys.sql): the service
/// its transaction tenant's keys and the lookup across tenants; the CRM nothing, not even its own
/// tenant's keys, and not the lookup.
@Suite struct APIKeyAccessTests {
    static func store(_ pool: PostgresPool, _ tenant: TenantID, name: String) async throws -> APIKey {
        let key = APIKey.generate()
        try await pool.transaction(tenant: tenant) { conn in
            try APIKeyQueries.apiKeyCreate(conn, tenant: tenant, name: name, keyID: key.keyID, secretHash: key.secretHash, managedBy: .cli)
        }
        return key
    }

    @Test func theLookupAnswersTheTenantOfALiveKeyOnly() async throws {
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        let owner = try await TestDatabase.pool()
        let (t, _) = try await TestDatabase.makeTenant("key-lookup", in: owner)
        let (other, _) = try await TestDatabase.makeTenant("key-lookup-other", in: owner)
        let key = try await Self.store(service, t, name: "crm")
        let otherKey = try await Self.store(service, other, name: "crm")
        func lookup(_ keyID: String, _ hash: [UInt8]) async throws -> TenantID? {
            try await service.withConnection { try APIKeyQueries.apiKeyTenant($0, keyID: keyID, secretHash: hash) }
        }
        #expect(try await lookup(key.keyID, key.secretHash) == t)
        #expect(try await lookup(otherKey.keyID, otherKey.secretHash) == other)
        // Another key's secret under this key id, or a random one: nothing.
        #expect(try await lookup(key.keyID, otherKey.secretHash) == nil)
        #expect(try await lookup(key.keyID, SHA256.hash("guess")) == nil)
        // Used: marked, and not again within the minute.
        let used = try await service.transaction(tenant: t) { try APIKeyQueries.apiKeyList($0, tenant: t) }
        #expect(used.first?.lastUsedAt != nil)
        #expect(try await lookup(key.keyID, key.secretHash) == t)
        #expect(try await service.transaction(tenant: t) { try APIKeyQueries.apiKeyList($0, tenant: t) } == used)

        // Revoked: refused at once; the name is free for a new key, the key id never again.
        #expect(try await service.transaction(tenant: t) { try APIKeyQueries.apiKeyRevoke($0, tenant: t, name: "crm") } == 1)
        #expect(try await lookup(key.keyID, key.secretHash) == nil)
        let second = try await Self.store(service, t, name: "crm")
        #expect(try await lookup(second.keyID, second.secretHash) == t)
        await #expect(throws: PostgresError.self) {
            try await service.transaction(tenant: other) { conn in
                try APIKeyQueries.apiKeyCreate(conn, tenant: other, name: "again", keyID: key.keyID, secretHash: key.secretHash, managedBy: .cli)
            }
        }
        // The service sees its transaction tenant's keys only.
        let seen = try await service.transaction(tenant: t) { conn in
            try conn.query("SELECT count(*) FROM api_key WHERE tenant_id = \(other)").one().decode(Int.self, at: 0)
        }
        #expect(seen == 0)
    }

    @Test func theCRMNeitherReadsNorWritesKeysNorCallsTheLookup() async throws {
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        let crm = try await TestDatabase.pool(as: .crm, connections: 1)
        defer { crm.close() }
        let owner = try await TestDatabase.pool()
        let (t, _) = try await TestDatabase.makeTenant("key-crm", in: owner)
        let (other, _) = try await TestDatabase.makeTenant("key-crm-other", in: owner)
        let otherKey = try await Self.store(service, other, name: "crm")
        _ = try await Self.store(service, t, name: "crm")
        let forged = APIKey.generate()
        for sql: SQL in [
            "SELECT secret_hash FROM api_key WHERE tenant_id = \(other)",
            "SELECT name, key_id FROM api_key",
            "INSERT INTO api_key (tenant_id, name, key_id, secret_hash, managed_by) VALUES (\(other), 'x', \(forged.keyID), \(forged.secretHash), 'cli')",
            "INSERT INTO api_key (tenant_id, name, key_id, secret_hash, managed_by) VALUES (\(t), 'x', \(forged.keyID), \(forged.secretHash), 'cli')",
            "UPDATE api_key SET revoked_at = NULL",
            "SELECT mailroom_api_key_tenant(\(otherKey.keyID), \(otherKey.secretHash))",
            "SELECT mailroom_api_key_tenant(\(forged.keyID), \(forged.secretHash))",
        ] {
            do {
                _ = try await crm.transaction(tenant: t) { try $0.execute(sql) }
                Issue.record("the CRM was allowed: \(sql)")
            } catch let e as PostgresError {
                #expect(e.sqlState == "42501", "\(sql): \(e)")
            }
        }
    }
}
