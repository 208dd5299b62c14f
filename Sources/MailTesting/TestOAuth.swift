import Foundation
import MailCore
import MailCrypto
import MailStore

/// OAuth set-up for tests: the test token server as a tenant's client, and a grant as an account's login.
public enum TestOAuth {
    /// Registers the test token server as a `generic` OAuth client of `tenant`; returns its id.
    public static func registerClient(_ conn: PostgresConnection, tenant: TenantID, tokens: TestTokenServer) throws -> Int64 {
        try conn.query("""
            INSERT INTO oauth_client (tenant_id, name, provider, client_id, token_url, scopes)
            VALUES (\(tenant), 'test', 'generic', 'mailroom-tests', \(tokens.tokenURL), '{mail}') RETURNING id
            """).one().decode(at: 0)
    }

    /// Stores `grant` as `account`'s login, as a completed OAuth login would (tokens sealed with the
    /// oauth-token key of `keyring`).
    public static func storeLogin(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, grant: TestTokenServer.Grant,
                                  keyring: SecretKeyring) throws {
        let box = SecretBox(keyring: keyring, purpose: .oauthToken)
        func seal(_ s: Secret, _ field: String) throws -> [UInt8] {
            try box.seal(s, context: OAuthGrantRecord.tokenContext(tenant: tenant, account: account, field: field))
        }
        try OAuthGrantQueries.grantStoreLogin(conn, tenant: tenant, account: account,
                                              refreshToken: try seal(grant.refreshToken, "refresh_token"),
                                              accessToken: try seal(grant.accessToken, "access_token"),
                                              expiresAt: Date().addingTimeInterval(Double(grant.expiresIn)),
                                              lifetime: .seconds(grant.expiresIn))
    }
}
