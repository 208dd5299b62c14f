import Foundation
import MailCore

/// A pending OAuth login (`oauth_login_state`), begun by `mailroom_oauth_begin` and taken back by the
/// worker's `/oauth/callback`. The verifier is the PKCE secret: it goes to the token endpoint only.
public struct OAuthLoginStateRecord: Sendable {
    public var tenantID: TenantID
    public var id: Int64
    public var accountID: AccountID
    public var userID: UserID
    public var clientID: Int64
    public var codeVerifier: Secret
    public var redirectURI: String
    public var returnURL: String
    public var expiresAt: Date
    public var usedAt: Date?
}

/// Queries on `oauth_login_state` and `oauth_callback_setting` (the service role only).
public enum OAuthLoginStateQueries {
    /// The pending login that `state` (what the browser carried) names, in any tenant, locked for the rest
    /// of the transaction, whatever its expiry or use; nil when no login has this state. Sets the
    /// transaction's tenant to the login's, so the grant is written under that tenant's policies.
    public static func loginStateTake(_ conn: PostgresConnection, state: String) throws -> OAuthLoginStateRecord? {
        guard let row = try conn.query("""
            SELECT tenant_id, id, account_id, user_id, client_id, code_verifier, redirect_uri, return_url, expires_at, used_at
            FROM oauth_login_state WHERE state_hash = sha256(convert_to(\(state), 'UTF8'))
            FOR UPDATE
            """).first else { return nil }
        let tenant: TenantID = try row.decode(at: 0)
        try conn.execute("SELECT set_config('mailroom.tenant_id', \(tenant.description), true)")
        return OAuthLoginStateRecord(
            tenantID: tenant, id: try row.decode(at: 1), accountID: try row.decode(at: 2), userID: try row.decode(at: 3),
            clientID: try row.decode(at: 4), codeVerifier: Secret(try row.decode(String.self, at: 5)),
            redirectURI: try row.decode(at: 6), returnURL: try row.decode(at: 7), expiresAt: try row.decode(at: 8),
            usedAt: try row.decode(at: 9))
    }

    /// The login is spent, whatever came of it (`outcome`: `stored` or why not; never a secret).
    public static func loginStateMarkUsed(_ conn: PostgresConnection, tenant: TenantID, id: Int64, outcome: String) throws {
        try conn.execute("""
            UPDATE oauth_login_state SET used_at = now(), outcome = \(outcome) WHERE tenant_id = \(tenant) AND id = \(id)
            """)
    }

    /// Pending logins that expired over a day ago are of no use, even to explain a refusal.
    @discardableResult
    public static func loginStateDeleteExpired(_ conn: PostgresConnection) throws -> Int {
        try conn.execute("DELETE FROM oauth_login_state WHERE expires_at < now() - interval '1 day'")
    }

    /// What a worker serving `/oauth/callback` publishes at its start: the redirect URI's base and the
    /// return URL prefixes, which `mailroom_oauth_begin` checks.
    public static func callbackSettingPublish(_ conn: PostgresConnection, publicBaseURL: String, returnURLPrefixes: [String]) throws {
        try conn.execute("""
            INSERT INTO oauth_callback_setting (public_base_url, return_url_prefixes)
            VALUES (\(publicBaseURL), \(PostgresArray(returnURLPrefixes))::text[])
            ON CONFLICT (singleton) DO UPDATE SET public_base_url = excluded.public_base_url,
                return_url_prefixes = excluded.return_url_prefixes, updated_at = now()
            """)
    }
}
