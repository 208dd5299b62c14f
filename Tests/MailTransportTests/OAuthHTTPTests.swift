import Foundation
import MailCore
import MailDomain
import MailTesting
import MailTransport
import Testing

/// The token endpoint through the real HTTP path (libcurl, the outbound policy) against the test token
/// server: strict rotation, and every fault a provider's endpoint shows, read as `OAuthTokenAnswer`.
@Suite(.serialized) struct OAuthHTTPTests {
    static func refresh(_ tokens: TestTokenServer, _ refreshToken: Secret, policy: OutboundPolicy) throws -> OAuthTokenAnswer {
        let answer = try OAuthHTTP.postForm(OAuthEndpoint(url: tokens.tokenURL, policy: policy),
                                            [("grant_type", "refresh_token"), ("refresh_token", refreshToken.value),
                                             ("client_id", "mailroom-tests")])
        return OAuthTokenAnswer.interpret(status: answer.status, contentType: answer.contentType,
                                          retryAfter: answer.retryAfter, body: answer.body)
    }

    static func policy() throws -> OutboundPolicy { try OutboundPolicy.fromEnvironment(ProcessInfo.processInfo.environment) }

    @Test func aRefreshTokenWorksOnceThenIsRotatedAway() async throws {
        let tokens = try TestTokenServer.fromEnvironment()
        let grant = try await tokens.makeUser("rotate-\(UUID().uuidString)@test.local", ttl: 60)
        guard case .tokens(_, let rotated?, let expiresIn, _) = try Self.refresh(tokens, grant.refreshToken, policy: Self.policy()) else {
            Issue.record("no tokens"); return
        }
        #expect(expiresIn == 60)
        #expect(rotated != grant.refreshToken.value)
        guard case .invalidGrant(let reason) = try Self.refresh(tokens, grant.refreshToken, policy: Self.policy()) else {
            Issue.record("the rotated-away token still worked"); return
        }
        #expect(reason.hasPrefix("invalid_grant"))
        #expect(!reason.contains(grant.refreshToken.value))
    }

    @Test func aRevokedGrantIsInvalidGrant() async throws {
        let tokens = try TestTokenServer.fromEnvironment()
        let user = "revoke-\(UUID().uuidString)@test.local"
        let grant = try await tokens.makeUser(user)
        try await tokens.revoke(user)
        guard case .invalidGrant = try Self.refresh(tokens, grant.refreshToken, policy: Self.policy()) else {
            Issue.record("a revoked grant refreshed"); return
        }
    }

    @Test func faultsAreRetriedOrClearErrorsAndNeverRotate() async throws {
        let tokens = try TestTokenServer.fromEnvironment()
        let user = "faults-\(UUID().uuidString)@test.local"
        let grant = try await tokens.makeUser(user)
        try await tokens.inject(.serverError, for: user)
        #expect({ if case .retryLater(_, nil) = $0 { true } else { false } }(try Self.refresh(tokens, grant.refreshToken, policy: Self.policy())))
        try await tokens.inject(.tooManyRequests, for: user, retryAfter: 7)
        #expect({ if case .retryLater(_, 7) = $0 { true } else { false } }(try Self.refresh(tokens, grant.refreshToken, policy: Self.policy())))
        try await tokens.inject(.garbage, for: user)
        #expect({ if case .failed = $0 { true } else { false } }(try Self.refresh(tokens, grant.refreshToken, policy: Self.policy())))
        try await tokens.inject(.html, for: user)
        #expect({ if case .failed(let r) = $0 { r.contains("text/html") } else { false } }(try Self.refresh(tokens, grant.refreshToken, policy: Self.policy())))
        try await tokens.inject(.oversized, for: user)
        let error = #expect(throws: TransportError.self) { try Self.refresh(tokens, grant.refreshToken, policy: Self.policy()) }
        #expect(error?.code == .responseTooLarge)
        // None of those spent the refresh token: it still works.
        guard case .tokens = try Self.refresh(tokens, grant.refreshToken, policy: Self.policy()) else {
            Issue.record("a failed answer rotated the token away"); return
        }
    }

    /// The token endpoint is an outbound connection like any other: loopback needs the allow-list, and
    /// plain HTTP (secrets in the form) needs the insecure list.
    @Test func theEndpointGoesThroughTheOutboundPolicy() async throws {
        let tokens = try TestTokenServer.fromEnvironment()
        let listed = try Self.policy()
        for policy in [OutboundPolicy(), OutboundPolicy(allowed: listed.allowed)] {
            let error = #expect(throws: TransportError.self) { try Self.refresh(tokens, Secret("rt-x"), policy: policy) }
            #expect(error?.code == .hostRefused, "\(String(describing: error))")
            #expect(!"\(String(describing: error))".contains("rt-x"))
        }
    }
}
