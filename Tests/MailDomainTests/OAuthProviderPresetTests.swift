import MailDomain
import Testing

@Suite struct OAuthProviderPresetTests {
    @Test func microsoftUsesTheDirectoryInEveryEndpoint() throws {
        let p = try #require(OAuthProviderPreset.of(.microsoft, directory: "contoso.onmicrosoft.com"))
        #expect(p.authorizationURL == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize")
        #expect(p.tokenURL == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
        #expect(p.deviceAuthorizationURL == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode")
        #expect(p.scopes == ["https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send", "offline_access"])
        #expect(p.imap == .init(host: "outlook.office365.com", port: 993, security: .tls))
        #expect(p.smtp == .init(host: "smtp.office365.com", port: 587, security: .starttls))
    }

    @Test func microsoftDefaultsToOrganizations() throws {
        let p = try #require(OAuthProviderPreset.of(.microsoft))
        #expect(p.tokenURL == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token")
    }

    @Test func google() throws {
        let p = try #require(OAuthProviderPreset.of(.google))
        #expect(p.authorizationURL == "https://accounts.google.com/o/oauth2/v2/auth")
        #expect(p.tokenURL == "https://oauth2.googleapis.com/token")
        #expect(p.deviceAuthorizationURL == "https://oauth2.googleapis.com/device/code")
        #expect(p.scopes == ["https://mail.google.com/"])
        #expect(p.imap == .init(host: "imap.gmail.com", port: 993, security: .tls))
        #expect(p.smtp == .init(host: "smtp.gmail.com", port: 587, security: .starttls))
    }

    @Test func genericHasNoPreset() {
        #expect(OAuthProviderPreset.of(.generic) == nil)
    }
}
