import Foundation
import MailCore

/// Queries on `api_key` (migrations/0021_api_keys.sql, functions/53_api_keys.sql). All but
/// `apiKeyTenant` run inside a transaction scoped to the tenant; keys are revoked, never deleted.
public enum APIKeyQueries {
    /// The tenant of the live key `keyID` whose secret hashes to `secretHash`; nil for an unknown,
    /// revoked or wrong key alike. Needs no tenant: this is how a request finds its tenant.
    public static func apiKeyTenant(_ conn: PostgresConnection, keyID: String, secretHash: [UInt8]) throws -> TenantID? {
        try conn.query("SELECT mailroom_api_key_tenant(\(keyID), \(secretHash))", prepared: true).one()
            .decode(TenantID?.self, at: 0)
    }

    /// Stores a new live key; fails with a unique violation when a live key has this name or the key
    /// id was ever stored.
    public static func apiKeyCreate(_ conn: PostgresConnection, tenant: TenantID, name: String, keyID: String,
                                    secretHash: [UInt8], managedBy: APIKeyRecord.ManagedBy) throws {
        try conn.execute("""
            INSERT INTO api_key (tenant_id, name, key_id, secret_hash, managed_by)
            VALUES (\(tenant), \(name), \(keyID), \(secretHash), \(managedBy))
            """)
    }

    /// Revokes the tenant's live key `name`; returns 1 when there was one, else 0.
    public static func apiKeyRevoke(_ conn: PostgresConnection, tenant: TenantID, name: String) throws -> Int {
        try conn.execute("""
            UPDATE api_key SET revoked_at = now() WHERE tenant_id = \(tenant) AND name = \(name) AND revoked_at IS NULL
            """)
    }

    /// Every key of the tenant, live ones first, then by name and age.
    public static func apiKeyList(_ conn: PostgresConnection, tenant: TenantID) throws -> [APIKeyRecord] {
        try conn.query("""
            SELECT name, key_id, managed_by, created_at, revoked_at, last_used_at FROM api_key
            WHERE tenant_id = \(tenant) ORDER BY revoked_at IS NOT NULL, name, created_at
            """).map(record)
    }

    /// The tenant's live key `name`, if any.
    public static func apiKeyGetLive(_ conn: PostgresConnection, tenant: TenantID, name: String) throws -> (record: APIKeyRecord, secretHash: [UInt8])? {
        try conn.query("""
            SELECT name, key_id, managed_by, created_at, revoked_at, last_used_at, secret_hash FROM api_key
            WHERE tenant_id = \(tenant) AND name = \(name) AND revoked_at IS NULL
            """).first.map { (try record($0), try $0.decode([UInt8].self, at: 6)) }
    }

    /// True when some key with this key id was ever stored, in any tenant the caller can see (the
    /// owner sees them all).
    public static func apiKeyIDExists(_ conn: PostgresConnection, keyID: String) throws -> Bool {
        try conn.query("SELECT EXISTS (SELECT 1 FROM api_key WHERE key_id = \(keyID))").one().decode(at: 0)
    }

    /// Revokes the tenant's live manifest keys whose names are not in `keep`; returns how many.
    public static func apiKeyRevokeManifestExcept(_ conn: PostgresConnection, tenant: TenantID, keep: [String]) throws -> Int {
        try conn.execute("""
            UPDATE api_key SET revoked_at = now()
            WHERE tenant_id = \(tenant) AND managed_by = 'manifest' AND revoked_at IS NULL
              AND NOT (name = ANY (\(PostgresArray(keep))::text[]))
            """)
    }

    private static func record(_ row: PostgresRow) throws -> APIKeyRecord {
        APIKeyRecord(name: try row.decode(at: 0), keyID: try row.decode(at: 1), managedBy: try row.decode(at: 2),
                     createdAt: try row.decode(at: 3), revokedAt: try row.decode(at: 4), lastUsedAt: try row.decode(at: 5))
    }
}
