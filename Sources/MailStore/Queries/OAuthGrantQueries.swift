import Foundation
import MailCore

/// Queries on `oauth_grant` and `oauth_client`. Call inside a transaction scoped to the tenant.
public enum OAuthGrantQueries {
    static let columns = """
        refresh_token, access_token, access_expires_at, extract(epoch FROM access_lifetime)::float8, generation,
        state, state_reason, next_attempt_at
        """

    /// The account's grant; with `lock`, the row is locked for the rest of the transaction (`FOR UPDATE`):
    /// the one refresher per account, the others waiting on the lock and then reading its result.
    public static func grantGet(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, lock: Bool = false)
        throws -> OAuthGrantRecord? {
        try conn.query(SQL(unsafeSQL: """
            SELECT \(columns) FROM oauth_grant WHERE tenant_id = $1 AND account_id = $2\(lock ? " FOR UPDATE" : "")
            """, binds: [tenant.postgresBind, account.postgresBind])).first.map { row in
            OAuthGrantRecord(
                tenantID: tenant, accountID: account, refreshToken: try row.decode(at: 0), accessToken: try row.decode(at: 1),
                accessExpiresAt: try row.decode(at: 2), accessLifetime: try row.decode(Double?.self, at: 3).map { .seconds($0) },
                generation: try row.decode(at: 4), state: try row.decode(at: 5), stateReason: try row.decode(at: 6),
                nextAttemptAt: try row.decode(at: 7))
        }
    }

    /// A new login (authorization code, device flow, an imported refresh token): the grant is active
    /// again with these tokens, whatever state it was in. Returns the new generation.
    @discardableResult
    public static func grantStoreLogin(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, refreshToken: [UInt8],
                                       accessToken: [UInt8]?, expiresAt: Date?, lifetime: Duration?) throws -> Int64 {
        try conn.query("""
            INSERT INTO oauth_grant AS g (tenant_id, account_id, refresh_token, access_token, access_expires_at, access_lifetime)
            VALUES (\(tenant), \(account), \(refreshToken), \(accessToken), \(expiresAt),
                    make_interval(secs => \(lifetime.map { Double($0.components.seconds) })))
            ON CONFLICT (tenant_id, account_id) DO UPDATE SET
                refresh_token = excluded.refresh_token, access_token = excluded.access_token,
                access_expires_at = excluded.access_expires_at, access_lifetime = excluded.access_lifetime,
                generation = g.generation + 1, state = 'active', state_reason = NULL,
                state_changed_at = CASE WHEN g.state = 'active' THEN g.state_changed_at ELSE now() END,
                next_attempt_at = NULL, last_error = NULL, last_error_at = NULL
            RETURNING generation
            """).one().decode(at: 0)
    }

    /// Tokens from a refresh: the new access token, and the rotated refresh token when the provider
    /// rotated it (committed with the access token, before either is used). Returns the new generation.
    public static func grantStoreRefresh(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, accessToken: [UInt8],
                                        expiresAt: Date, lifetime: Duration, rotatedRefreshToken: [UInt8]?) throws -> Int64 {
        try conn.query("""
            UPDATE oauth_grant SET access_token = \(accessToken), access_expires_at = \(expiresAt),
                access_lifetime = make_interval(secs => \(Double(lifetime.components.seconds))),
                refresh_token = coalesce(\(rotatedRefreshToken), refresh_token),
                generation = generation + 1, refreshed_at = now(), refresh_count = refresh_count + 1,
                next_attempt_at = NULL, last_error = NULL, last_error_at = NULL
            WHERE tenant_id = \(tenant) AND account_id = \(account)
            RETURNING generation
            """).one().decode(at: 0)
    }

    /// A failed token request that changes nothing about the grant: the reason, and no new request
    /// before `nextAttemptAt`.
    public static func grantRecordFailure(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, error: String,
                                          nextAttemptAt: Date) throws {
        try conn.execute("""
            UPDATE oauth_grant SET last_error = \(error), last_error_at = now(), next_attempt_at = \(nextAttemptAt)
            WHERE tenant_id = \(tenant) AND account_id = \(account)
            """)
    }

    /// The provider refused the grant: `reauth_required` with its reason. True when the state changed
    /// (so the caller tells the admins or the owner once).
    public static func grantRequireReauth(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, reason: String) throws -> Bool {
        try conn.execute("""
            UPDATE oauth_grant SET state = 'reauth_required', state_reason = \(reason), state_changed_at = now(),
                access_token = NULL, access_expires_at = NULL, last_error = \(reason), last_error_at = now()
            WHERE tenant_id = \(tenant) AND account_id = \(account) AND state = 'active'
            """) == 1
    }

    /// An account whose OAuth grant needs a new login, for `mailroom status`.
    public struct NeedsLogin: Sendable, Equatable {
        public var accountID: AccountID
        public var account: String
        public var address: String
        public var reason: String?
        public var since: Date
    }

    public static func grantListNeedingLogin(_ conn: PostgresConnection, tenant: TenantID) throws -> [NeedsLogin] {
        try conn.query("""
            SELECT a.id, a.name, a.address, g.state_reason, g.state_changed_at
            FROM oauth_grant g JOIN mail_account a ON a.tenant_id = g.tenant_id AND a.id = g.account_id
            WHERE g.tenant_id = \(tenant) AND g.state = 'reauth_required'
            ORDER BY a.name
            """).map {
            NeedsLogin(accountID: try $0.decode(at: 0), account: try $0.decode(at: 1), address: try $0.decode(at: 2),
                       reason: try $0.decode(at: 3), since: try $0.decode(at: 4))
        }
    }

    public static func clientGet(_ conn: PostgresConnection, tenant: TenantID, id: Int64) throws -> OAuthClientRecord? {
        try conn.query("""
            SELECT id, name, provider, client_id, client_secret, token_url, array_to_string(scopes, ' '), device_authorization_url,
                   authorization_url
            FROM oauth_client WHERE tenant_id = \(tenant) AND id = \(id)
            """).first.map { row in
            OAuthClientRecord(tenantID: tenant, id: try row.decode(at: 0), name: try row.decode(at: 1), provider: try row.decode(at: 2),
                              clientID: try row.decode(at: 3), clientSecret: try row.decode(at: 4), tokenURL: try row.decode(at: 5),
                              scopes: try row.decode(String.self, at: 6).split(separator: " ").map(String.init),
                              deviceAuthorizationURL: try row.decode(at: 7), authorizationURL: try row.decode(at: 8))
        }
    }
}
