import Foundation
import MailDomain
import Testing

/// The pure parts of the two login flows: the callback's settings (an error, never a default) and the
/// device flow's polling decisions (RFC 8628 §3.5).
@Suite struct OAuthLoginFlowRulesTests {
    @Test func callbackSettingsParse() throws {
        let ok = try OAuthCallbackSettings.parse(publicURL: "https://mail.example.com/",
                                                 returnURLs: "https://crm.example.com/mail/, http://127.0.0.1:8080/")
        #expect(ok.publicBaseURL == "https://mail.example.com")
        #expect(ok.redirectURI == "https://mail.example.com/oauth/callback")
        #expect(ok.returnURLPrefixes == ["https://crm.example.com/mail/", "http://127.0.0.1:8080/"])
        #expect(ok.allowsReturn(to: "https://crm.example.com/mail/accounts/3"))
        #expect(!ok.allowsReturn(to: "https://crm.example.com.evil.test/mail/"))
        #expect(!ok.allowsReturn(to: "https://crm.example.com/other"))
    }

    @Test(arguments: [
        (nil, "https://crm.example.com/"), ("", "https://crm.example.com/"),
        ("mail.example.com", "https://crm.example.com/"), ("https://mail.example.com/path", "https://crm.example.com/"),
        ("https://mail.example.com?x=1", "https://crm.example.com/"),
        ("https://mail.example.com", nil), ("https://mail.example.com", " "),
        ("https://mail.example.com", "https://crm.example.com"),            // no path: would match crm.example.com.evil.test
        ("https://mail.example.com", "https://crm.example.com/,"),          // an empty entry
        ("https://mail.example.com", "javascript:alert(1)/"), ("https://mail.example.com", "ftp://crm.example.com/"),
    ] as [(String?, String?)])
    func malformedCallbackSettingsAreErrors(publicURL: String?, returnURLs: String?) {
        #expect(throws: OAuthCallbackSettings.Invalid.self) { try OAuthCallbackSettings.parse(publicURL: publicURL, returnURLs: returnURLs) }
    }

    static func json(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func devicePollSteps() {
        func step(_ status: Int, _ body: String, interval: Int = 5) -> DeviceAuthorization.Step {
            DeviceAuthorization.step(status: status, contentType: "application/json", retryAfter: nil, body: Self.json(body), interval: interval)
        }
        #expect(step(400, #"{"error":"authorization_pending"}"#) == .wait(interval: 5))
        #expect(step(400, #"{"error":"slow_down"}"#) == .wait(interval: 10))
        guard case .fail(let expired) = step(400, #"{"error":"expired_token"}"#) else { Issue.record("expired_token"); return }
        #expect(expired.contains("expired"))
        guard case .fail(let denied) = step(400, #"{"error":"access_denied"}"#) else { Issue.record("access_denied"); return }
        #expect(denied.contains("declined"))
        #expect(step(503, "{}") == .wait(interval: 5))
        #expect(step(200, #"{"access_token":"a","refresh_token":"r","token_type":"Bearer","expires_in":60}"#)
                == .tokens(accessToken: "a", refreshToken: "r", expiresIn: 60))
        guard case .fail = step(400, #"{"error":"invalid_client"}"#) else { Issue.record("invalid_client"); return }
    }

    @Test func deviceStartAnswers() throws {
        let start = try DeviceAuthorization.interpretStart(status: 200, contentType: "application/json", body: Self.json("""
            {"device_code":"d","user_code":"ABCD-EFGH","verification_url":"https://www.google.com/device","expires_in":"1800"}
            """)).get()
        #expect(start.userCode == "ABCD-EFGH" && start.verificationURI == "https://www.google.com/device")
        #expect(start.expiresIn == 1800 && start.interval == 5)
        #expect(throws: DeviceFlowError.self) {
            try DeviceAuthorization.interpretStart(status: 200, contentType: "text/html", body: Self.json("<html>")).get()
        }
        #expect(throws: DeviceFlowError.self) {
            try DeviceAuthorization.interpretStart(status: 400, contentType: "application/json", body: Self.json(#"{"error":"invalid_client"}"#)).get()
        }
    }
}
