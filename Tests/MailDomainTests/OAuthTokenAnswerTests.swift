import Foundation
import MailDomain
import Testing

@Suite struct OAuthTokenAnswerTests {
    static func answer(_ status: Int, _ body: String, type: String? = "application/json", retryAfter: String? = nil) -> OAuthTokenAnswer {
        OAuthTokenAnswer.interpret(status: status, contentType: type, retryAfter: retryAfter, body: Array(body.utf8))
    }

    @Test func tokensWithAndWithoutRotation() {
        #expect(Self.answer(200, #"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt2","scope":"mail"}"#)
                == .tokens(accessToken: "at", refreshToken: "rt2", expiresIn: 3600, scope: "mail"))
        #expect(Self.answer(200, #"{"access_token":"at","token_type":"bearer","expires_in":"60"}"#, type: "application/json; charset=utf-8")
                == .tokens(accessToken: "at", refreshToken: nil, expiresIn: 60, scope: nil))
    }

    @Test func invalidGrantNeedsANewLoginAndQuotesTheProvider() {
        let a = Self.answer(400, #"{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired\r\ndue to it being revoked"}"#)
        #expect(a == .invalidGrant(reason: "invalid_grant: AADSTS50173: The provided grant has expired  due to it being revoked"))
    }

    @Test(arguments: [
        (503, "{}", nil as String?, nil as Int?),
        (500, "<html>oops</html>", nil, nil),
        (429, #"{"error":"slow_down"}"#, "17", 17),
        (429, "", "Wed, 21 Oct 2026 07:28:00 GMT", nil),
    ])
    func serverTroubleIsRetriedLater(status: Int, body: String, retryAfter: String?, after: Int?) {
        guard case .retryLater(_, let got) = Self.answer(status, body, retryAfter: retryAfter) else {
            Issue.record("not retryLater"); return
        }
        #expect(got == after)
    }

    @Test(arguments: [
        (200, "\u{0}\u{FF}not json at all", "application/json", "not a JSON object"),
        (200, "<html><body>Sign in to continue</body></html>", "text/html", "content type text/html, not JSON"),
        (200, #"{"token_type":"Bearer","expires_in":3600}"#, "application/json", "no access_token"),
        (200, #"{"access_token":"at","token_type":"mac","expires_in":3600}"#, "application/json", "not Bearer"),
        (200, #"{"access_token":"at"}"#, "application/json", "no positive expires_in"),
        (401, #"{"error":"invalid_client","error_description":"bad secret"}"#, "application/json", "invalid_client: bad secret"),
        (200, "[1,2,3]", "application/json", "not a JSON object"),
        (302, "", nil, "no content type"),
    ])
    func malformedOrRefusedAnswersAreClearErrors(status: Int, body: String, type: String?, reason: String) {
        guard case .failed(let got) = Self.answer(status, body, type: type) else {
            Issue.record("not failed"); return
        }
        #expect(got.contains(reason), "\(got)")
    }

    @Test func longDescriptionsAreBounded() {
        let long = String(repeating: "x", count: 5000)
        guard case .invalidGrant(let reason) = Self.answer(400, #"{"error":"invalid_grant","error_description":"\#(long)"}"#) else {
            Issue.record("not invalidGrant"); return
        }
        #expect(reason.count < 400)
    }

    @Test func refreshMarginScalesWithTheLifetime() {
        #expect(TokenRefreshTiming.margin(lifetime: .seconds(60)) == .seconds(12))
        #expect(TokenRefreshTiming.margin(lifetime: .seconds(3600)) == .seconds(300))
        #expect(TokenRefreshTiming.margin(lifetime: .seconds(10)) == .seconds(5))
        let now = Date()
        #expect(!TokenRefreshTiming.isDue(expiresAt: now.addingTimeInterval(30), lifetime: .seconds(60), now: now))
        #expect(TokenRefreshTiming.isDue(expiresAt: now.addingTimeInterval(11), lifetime: .seconds(60), now: now))
        #expect(TokenRefreshTiming.isDue(expiresAt: now.addingTimeInterval(299), lifetime: .seconds(3600), now: now))
        #expect(!TokenRefreshTiming.isDue(expiresAt: now.addingTimeInterval(301), lifetime: .seconds(3600), now: now))
    }
}
