import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// The token lifecycle against the real PostgreSQL and the test token server (strict rotation):
/// refresh ahead of expiry, one refresher per account across "replicas" (separate pools), rotation
/// committed before use, `invalid_grant` to `reauth_required` with no more requests, faults that keep
/// the valid token, a refused token replaced once, a new login clearing the state.
@Suite(.serialized) struct OAuthTokenLifecycleTests {
    struct Fixture: Sendable {
        let pool: PostgresPool
        let tenant: TenantID
        let account: AccountID
        let client: Int64
        let user: String
        let keyring: SecretKeyring
        let tokens: TestTokenServer
        let policy: OutboundPolicy

        /// A provider for one "replica" whose clock runs `offset` seconds ahead.
        func provider(_ pool: PostgresPool? = nil, offset: Double = 0) -> OAuthTokens {
            var logger = Logger(label: "test.oauth")
            logger.logLevel = .critical
            return OAuthTokens(pool: pool ?? self.pool, keyring: keyring, policy: policy, logger: logger,
                               now: { Date().addingTimeInterval(offset) })
        }

        func grant() async throws -> OAuthGrantRecord {
            try await pool.transaction(tenant: tenant) { try OAuthGrantQueries.grantGet($0, tenant: tenant, account: account)! }
        }

        func refreshes() async throws -> Int { try await tokens.stats().refreshes[user] ?? 0 }
    }

    static func makeFixture(ttl: Int = 60) async throws -> Fixture {
        let pool = try await TestDatabase.pool()
        let tokens = try TestTokenServer.fromEnvironment()
        let keyring = try SecretKeyring(current: SecretKey.fromEnvironment())
        let (tenant, _) = try await TestDatabase.makeTenant("oauth", in: pool)
        let user = "oauth-\(UUID().uuidString.prefix(8).lowercased())@test.local"
        let grant = try await tokens.makeUser(user, ttl: ttl)
        let (account, client) = try await pool.transaction(tenant: tenant) { conn -> (AccountID, Int64) in
            try conn.execute("INSERT INTO app_user (tenant_id, username, name, is_admin) VALUES (\(tenant), 'admin', 'Admin', true)")
            let client = try TestOAuth.registerClient(conn, tenant: tenant, tokens: tokens)
            let account: AccountID = try conn.query("""
                INSERT INTO mail_account (tenant_id, kind, name, address, imap_host, imap_auth, oauth_client_id)
                VALUES (\(tenant), 'group', 'Support', \(user), 'imap.test.local', 'oauth2', \(client)) RETURNING id
                """).one().decode(at: 0)
            try TestOAuth.storeLogin(conn, tenant: tenant, account: account, grant: grant, keyring: keyring)
            return (account, client)
        }
        return Fixture(pool: pool, tenant: tenant, account: account, client: client, user: user, keyring: keyring,
                       tokens: tokens, policy: try OutboundPolicy.fromEnvironment(ProcessInfo.processInfo.environment))
    }

    @Test func refreshesAheadOfExpiryAndCommitsTheRotatedToken() async throws {
        let f = try await Self.makeFixture()
        let first = try await f.provider().accessToken(tenant: f.tenant, account: f.account, client: f.client)
        #expect(try await f.refreshes() == 0, "a fresh token is used as it is")
        // 50 s into a 60 s token: inside the 12 s margin, so it is refreshed.
        let refreshed = try await f.provider(offset: 50).accessToken(tenant: f.tenant, account: f.account, client: f.client)
        #expect(refreshed.generation == first.generation + 1)
        #expect(refreshed.value != first.value)
        #expect(try await f.refreshes() == 1)
        // The rotated refresh token is the stored one: the next refresh works (a spent one would not).
        let again = try await f.provider(offset: 110).accessToken(tenant: f.tenant, account: f.account, client: f.client)
        #expect(again.generation == refreshed.generation + 1)
        #expect(try await f.grant().state == .active)
    }

    @Test func replicasRefreshAnAccountOnceAndShareTheResult() async throws {
        let f = try await Self.makeFixture()
        let pools = (0..<3).map { _ in PostgresPool(.init(conninfo: try! TestDatabase.url(), maxConnections: 4, applicationName: "oauth-replica")) }
        defer { pools.forEach { $0.close() } }
        let generations = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<12 {
                let provider = f.provider(pools[i % 3], offset: 50)
                group.addTask { try await provider.accessToken(tenant: f.tenant, account: f.account, client: f.client).generation }
            }
            return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
        }
        #expect(generations.count == 1, "every caller used the one refreshed token: \(generations)")
        #expect(try await f.refreshes() == 1)
    }

    @Test func invalidGrantNeedsANewLoginAndStopsAskingTheProvider() async throws {
        let f = try await Self.makeFixture()
        try await f.tokens.revoke(f.user)
        let error = await #expect(throws: OAuthUnavailable.self) {
            try await f.provider(offset: 50).accessToken(tenant: f.tenant, account: f.account, client: f.client)
        }
        #expect(error?.kind == .reauthRequired)
        #expect(error?.reason.contains("invalid_grant") == true)
        let grant = try await f.grant()
        #expect(grant.state == .reauthRequired && grant.accessToken == nil)
        let notified = try await f.pool.transaction(tenant: f.tenant) {
            try $0.query("SELECT count(*) FROM notification WHERE kind = 'oauth_reauth_required'").one().decode(Int.self, at: 0)
        }
        #expect(notified == 1)
        // Polls and sends keep asking for a token: the provider hears nothing more.
        let requests = try await f.tokens.stats().tokenRequests[f.user]
        for _ in 0..<5 {
            await #expect(throws: OAuthUnavailable.self) {
                try await f.provider(offset: 50).accessToken(tenant: f.tenant, account: f.account, client: f.client)
            }
        }
        #expect(try await f.tokens.stats().tokenRequests[f.user] == requests)
        // A new login clears the state at once.
        let login = try await f.tokens.makeUser(f.user, ttl: 60)
        try await f.pool.transaction(tenant: f.tenant) { conn in
            try TestOAuth.storeLogin(conn, tenant: f.tenant, account: f.account, grant: login, keyring: f.keyring)
        }
        let token = try await f.provider().accessToken(tenant: f.tenant, account: f.account, client: f.client)
        #expect(token.value == login.accessToken)
    }

    @Test func aFailingEndpointKeepsTheValidTokenAndBacksOff() async throws {
        let f = try await Self.makeFixture()
        let first = try await f.provider().accessToken(tenant: f.tenant, account: f.account, client: f.client)
        try await f.tokens.inject(.serverError, for: f.user)
        let kept = try await f.provider(offset: 50).accessToken(tenant: f.tenant, account: f.account, client: f.client)
        #expect(kept.generation == first.generation && kept.value == first.value)
        let grant = try await f.grant()
        #expect(grant.state == .active && grant.nextAttemptAt != nil)
        // Within the backoff: no new request, the valid token again.
        let requests = try await f.tokens.stats().tokenRequests[f.user]
        _ = try await f.provider(offset: 51).accessToken(tenant: f.tenant, account: f.account, client: f.client)
        #expect(try await f.tokens.stats().tokenRequests[f.user] == requests)
        // Once it has expired with the endpoint still failing: a temporary failure, no state change.
        let error = await #expect(throws: OAuthUnavailable.self) {
            try await f.provider(offset: 65).accessToken(tenant: f.tenant, account: f.account, client: f.client)
        }
        #expect(error?.kind == .temporary)
        #expect(try await f.grant().state == .active)
    }

    @Test func aTokenTheServerRefusedIsReplacedOnce() async throws {
        let f = try await Self.makeFixture()
        let first = try await f.provider().accessToken(tenant: f.tenant, account: f.account, client: f.client)
        let replaced = try await f.provider().accessToken(tenant: f.tenant, account: f.account, client: f.client, rejected: first.generation)
        #expect(replaced.generation == first.generation + 1)
        #expect(try await f.refreshes() == 1)
    }
}
