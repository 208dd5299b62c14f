import Foundation
import MailCore

/// Queries on `oauth_client` as `mailroom apply`, `mailroom status` and `mailroom secrets rotate` use
/// them (the worker reads a client with `OAuthGrantQueries.clientGet`). Call inside a transaction
/// scoped to the tenant.
public enum OAuthClientQueries {
    /// Every administrator-set column of a client except its secret, which is sealed against the row
    /// id and written separately (`clientSetSecret`).
    public struct Settings: Sendable, Equatable {
        public var name: String
        public var provider: String
        public var clientID: String
        public var directory: String
        public var authorizationURL: String?
        public var tokenURL: String
        public var deviceAuthorizationURL: String?
        public var scopes: [String]
        /// `YYYY-MM-DD`; the secret stops working at the start of that day (UTC).
        public var secretExpiresOn: String?

        public init(name: String, provider: String, clientID: String, directory: String, authorizationURL: String?,
                    tokenURL: String, deviceAuthorizationURL: String?, scopes: [String], secretExpiresOn: String?) {
            self.name = name; self.provider = provider; self.clientID = clientID; self.directory = directory
            self.authorizationURL = authorizationURL; self.tokenURL = tokenURL
            self.deviceAuthorizationURL = deviceAuthorizationURL; self.scopes = scopes; self.secretExpiresOn = secretExpiresOn
        }
    }

    /// Creates or updates a client by name; returns its id and 1 when anything changed (nothing is
    /// written when every column already holds its value).
    public static func clientUpsert(_ conn: PostgresConnection, tenant: TenantID, _ s: Settings) throws -> (Int64, Int) {
        let rows = try conn.query("""
            INSERT INTO oauth_client AS c (tenant_id, name, provider, client_id, directory, authorization_url, token_url,
                device_authorization_url, scopes, secret_expires_at)
            VALUES (\(tenant), \(s.name), \(s.provider), \(s.clientID), \(s.directory), \(s.authorizationURL), \(s.tokenURL),
                \(s.deviceAuthorizationURL), \(PostgresArray(s.scopes))::text[], (\(s.secretExpiresOn)::date)::timestamp AT TIME ZONE 'UTC')
            ON CONFLICT (tenant_id, name) DO UPDATE SET
                provider = excluded.provider, client_id = excluded.client_id, directory = excluded.directory,
                authorization_url = excluded.authorization_url, token_url = excluded.token_url,
                device_authorization_url = excluded.device_authorization_url, scopes = excluded.scopes,
                secret_expires_at = excluded.secret_expires_at, updated_at = now()
            WHERE (c.provider, c.client_id, c.directory, c.authorization_url, c.token_url, c.device_authorization_url,
                   c.scopes, c.secret_expires_at)
              IS DISTINCT FROM
                  (excluded.provider, excluded.client_id, excluded.directory, excluded.authorization_url, excluded.token_url,
                   excluded.device_authorization_url, excluded.scopes, excluded.secret_expires_at)
            RETURNING id
            """)
        if let row = rows.first { return (try row.decode(at: 0), 1) }
        return (try conn.query("SELECT id FROM oauth_client WHERE tenant_id = \(tenant) AND name = \(s.name)").one().decode(at: 0), 0)
    }

    public static func clientGetSecret(_ conn: PostgresConnection, tenant: TenantID, id: Int64) throws -> [UInt8]? {
        try conn.query("SELECT client_secret FROM oauth_client WHERE tenant_id = \(tenant) AND id = \(id)").one().decode(at: 0)
    }

    /// Writes the sealed secret (nil: a public client); 1 when it changed.
    public static func clientSetSecret(_ conn: PostgresConnection, tenant: TenantID, id: Int64, secret: [UInt8]?) throws -> Int {
        try conn.execute("""
            UPDATE oauth_client SET client_secret = \(secret), updated_at = now()
            WHERE tenant_id = \(tenant) AND id = \(id) AND client_secret IS DISTINCT FROM \(secret)::bytea
            """)
    }

    /// How long before `secret_expires_at` status and metrics warn about a client secret.
    public static let secretWarningWindow: TimeInterval = 30 * 86_400

    /// A client whose secret stops working soon, for `mailroom status`.
    public struct ExpiringSecret: Sendable, Equatable {
        public var name: String
        public var provider: String
        public var expiresAt: Date
    }

    /// Clients with a secret whose `secret_expires_at` is before `before` (already expired included).
    public static func clientListSecretsExpiring(_ conn: PostgresConnection, tenant: TenantID, before: Date) throws -> [ExpiringSecret] {
        try conn.query("""
            SELECT name, provider, secret_expires_at FROM oauth_client
            WHERE tenant_id = \(tenant) AND client_secret IS NOT NULL AND secret_expires_at < \(before)
            ORDER BY secret_expires_at, name
            """).map {
            ExpiringSecret(name: try $0.decode(at: 0), provider: try $0.decode(at: 1), expiresAt: try $0.decode(at: 2))
        }
    }
}

extension OAuthClientQueries {
    /// The next `limit` clients after `after` (by id) whose client secret was not sealed with `header`
    /// (the current key's format and key id), locked `FOR UPDATE` like `mailAccountListSealedNotBy`.
    public static func clientListSealedNotBy(_ conn: PostgresConnection, tenant: TenantID, header: [UInt8], after: Int64?,
                                             limit: Int) throws -> [(id: Int64, sealed: [UInt8])] {
        try conn.query("""
            SELECT id, client_secret FROM oauth_client
            WHERE tenant_id = \(tenant) AND id > \(after ?? 0) AND client_secret IS NOT NULL
              AND substr(client_secret, 1, \(header.count)) <> \(header)::bytea
            ORDER BY id LIMIT \(limit) FOR UPDATE
            """).map { (try $0.decode(at: 0), try $0.decode(at: 1)) }
    }

    /// Replaces the sealed secret by its re-sealed form, only if it still holds `old`; `updated_at`
    /// stays (the secret itself did not change). Returns the rows changed (0 or 1).
    public static func clientResealSecret(_ conn: PostgresConnection, tenant: TenantID, id: Int64, old: [UInt8],
                                          new: [UInt8]) throws -> Int {
        try conn.execute("""
            UPDATE oauth_client SET client_secret = \(new)
            WHERE tenant_id = \(tenant) AND id = \(id) AND client_secret = \(old)::bytea
            """)
    }

    /// How many client secrets each sealer holds, by header (as `mailAccountCountSealers`).
    public static func clientCountSealers(_ conn: PostgresConnection, tenant: TenantID) throws -> [(header: [UInt8], count: Int)] {
        try conn.query("""
            SELECT CASE WHEN get_byte(client_secret, 0) = 2 THEN substr(client_secret, 1, 5)
                        ELSE substr(client_secret, 1, 1) END, count(*)
            FROM oauth_client WHERE tenant_id = \(tenant) AND client_secret IS NOT NULL AND length(client_secret) > 0
            GROUP BY 1 ORDER BY 1
            """).map { (try $0.decode(at: 0), Int(try $0.decode(Int64.self, at: 1))) }
    }
}
