import MailDomain
import Testing
@testable import MailProvisioning

/// A manifest with two OAuth clients and accounts that use them. Lines:
/// 4 oauth_clients, 5–9 m365 (6 provider, 8 client_secret, 9 secret_expires_at), 10 gmail,
/// 11 group_accounts, 14 imap, 15 smtp, 16 personal_accounts, 17 Alice Mail.
let oauthLines = [
    "tenant: acme",
    "users:",
    "  - {username: alice, emails: [alice@acme.test]}",
    "oauth_clients:",
    "  - name: m365",
    "    provider: microsoft",
    "    client_id: 00000000-0000-0000-0000-000000000000",
    "    client_secret: env:M365_SECRET",
    "    secret_expires_at: 2027-06-30",
    "  - {name: gmail, provider: google, client_id: g-client}",
    "group_accounts:",
    "  - name: Support",
    "    address: support@acme.test",
    "    imap: {auth: oauth2, oauth_client: m365}",
    "    smtp: {auth: oauth2, oauth_client: m365, shared: true}",
    "personal_accounts:",
    "  - {name: Alice Mail, owner: alice, address: alice@gmail.test, imap: {auth: oauth2, oauth_client: gmail}}",
]

let oauthEnvironment = ["M365_SECRET": "m365-client-secret", "PW": "pw"]

func oauthManifest(replacing replacements: [Int: String] = [:], appending extra: [String] = []) -> String {
    var lines = oauthLines
    for (number, text) in replacements { lines[number - 1] = text }
    return (lines + extra).joined(separator: "\n")
}

@Suite struct ManifestOAuthTests {
    @Test func clientsGetTheirProviderPreset() throws {
        let m = try ManifestParser.parse(oauthManifest(), environment: oauthEnvironment)
        #expect(m.oauthClients.map(\.name) == ["m365", "gmail"])
        let m365 = m.oauthClients[0]
        #expect(m365.provider == .microsoft)
        #expect(m365.clientID == "00000000-0000-0000-0000-000000000000")
        #expect(m365.clientSecret?.value == "m365-client-secret")
        #expect(m365.directory == "organizations")
        #expect(m365.authorizationURL == "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize")
        #expect(m365.tokenURL == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token")
        #expect(m365.deviceAuthorizationURL == "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode")
        #expect(m365.scopes == OAuthProviderPreset.of(.microsoft)?.scopes)
        #expect(m365.secretExpiresAt?.description == "2027-06-30")
        let gmail = m.oauthClients[1]
        #expect(gmail.clientSecret == nil)
        #expect(gmail.tokenURL == "https://oauth2.googleapis.com/token")
        #expect(gmail.scopes == ["https://mail.google.com/"])
        #expect(gmail.secretExpiresAt == nil)
    }

    @Test func oauthAccountsTakeTheProvidersServers() throws {
        let m = try ManifestParser.parse(oauthManifest(), environment: oauthEnvironment)
        let support = m.groupAccounts[0]
        #expect(support.imap.auth == .oauth2)
        #expect(support.imap.oauthClient == "m365")
        #expect(support.imap.password == nil)
        #expect([support.imap.host, "\(support.imap.port)", support.imap.security.rawValue] == ["outlook.office365.com", "993", "tls"])
        #expect(support.imap.username == "support@acme.test")
        let smtp = try #require(support.smtp)
        #expect(smtp.auth == .oauth2)
        #expect(smtp.oauthClient == "m365")
        #expect(smtp.password == nil)
        #expect([smtp.host, "\(smtp.port)", smtp.security.rawValue] == ["smtp.office365.com", "587", "starttls"])
        let alice = m.personalAccounts[0]
        #expect(alice.imap.auth == .oauth2)
        #expect([alice.imap.host, "\(alice.imap.port)", alice.imap.security.rawValue] == ["imap.gmail.com", "993", "tls"])
    }

    @Test func accountSettingsOverrideThePreset() throws {
        let yaml = oauthManifest(replacing: [
            14: "    imap: {auth: oauth2, oauth_client: m365, host: imap.example.test, username: shared@acme.test}",
            15: "    smtp: {auth: oauth2, oauth_client: m365, security: tls}",
        ])
        let m = try ManifestParser.parse(yaml, environment: oauthEnvironment)
        let imap = m.groupAccounts[0].imap
        #expect([imap.host, "\(imap.port)", imap.security.rawValue, imap.username] == ["imap.example.test", "993", "tls", "shared@acme.test"])
        let smtp = try #require(m.groupAccounts[0].smtp)
        // Another security than the preset's: that security's usual port.
        #expect([smtp.host, "\(smtp.port)", smtp.security.rawValue] == ["smtp.office365.com", "465", "tls"])
    }

    @Test func passwordAuthStaysTheDefault() throws {
        let yaml = oauthManifest(replacing: [14: "    imap: {host: imap.acme.test, password: env:PW}",
                                             15: "    smtp: {host: smtp.acme.test, auth: login, password: env:PW}"])
        let m = try ManifestParser.parse(yaml, environment: oauthEnvironment)
        #expect(m.groupAccounts[0].imap.auth == .password)
        #expect(m.groupAccounts[0].imap.oauthClient == nil)
        #expect(m.groupAccounts[0].imap.password?.value == "pw")
        #expect(m.groupAccounts[0].smtp?.auth == .login)
    }

    @Test func microsoftDirectoryAndOverriddenEndpoints() throws {
        let yaml = oauthManifest(replacing: [
            6: "    provider: microsoft\n    tenant: contoso.onmicrosoft.com",
            10: "  - {name: gmail, provider: google, client_id: g-client, token_url: \"https://token.example.test/t\", scopes: [a, b]}",
        ])
        let m = try ManifestParser.parse(yaml, environment: oauthEnvironment)
        #expect(m.oauthClients[0].directory == "contoso.onmicrosoft.com")
        #expect(m.oauthClients[0].tokenURL == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
        #expect(m.oauthClients[1].tokenURL == "https://token.example.test/t")
        #expect(m.oauthClients[1].authorizationURL == "https://accounts.google.com/o/oauth2/v2/auth")
        #expect(m.oauthClients[1].scopes == ["a", "b"])
    }

    @Test func genericClientNeedsItsEndpointsAndAccountsTheirHosts() throws {
        let yaml = oauthManifest(replacing: [
            10: "  - {name: gmail, provider: generic, client_id: c, token_url: \"http://127.0.0.1:14080/token\", scopes: [mail],"
                + " device_authorization_url: \"https://idp.test/device\"}",
            17: "  - {name: Alice Mail, owner: alice, address: alice@gmail.test, imap: {auth: oauth2, oauth_client: gmail,"
                + " host: mail.test, security: starttls}}",
        ])
        var environment = oauthEnvironment
        environment["MAILROOM_INSECURE_HOSTS"] = "127.0.0.1/32"
        let m = try ManifestParser.parse(yaml, environment: environment)
        #expect(m.oauthClients[1].provider == .generic)
        #expect(m.oauthClients[1].tokenURL == "http://127.0.0.1:14080/token")
        #expect(m.oauthClients[1].authorizationURL == nil)
        #expect(m.oauthClients[1].deviceAuthorizationURL == "https://idp.test/device")
        #expect(m.oauthClients[1].scopes == ["mail"])
        let imap = m.personalAccounts[0].imap
        #expect([imap.host, "\(imap.port)", imap.security.rawValue] == ["mail.test", "143", "starttls"])
        // The same http:// endpoint without the operator's list is refused.
        #expect(errors(yaml, environment: oauthEnvironment).map(\.description) == [
            #"oauth_clients[1].token_url: must use https:// (http:// sends secrets in clear text; "127.0.0.1" is not in MAILROOM_INSECURE_HOSTS) (line 10)"#,
        ])
    }

    typealias Case = ManifestErrorCase

    static let cases: [Case] = [
        Case(name: "unknown provider",
             yaml: oauthManifest(replacing: [6: "    provider: yahoo"]),
             expected: ["oauth_clients[0].provider: expected one of microsoft, google, generic (line 6)"]),
        Case(name: "provider missing",
             yaml: oauthManifest(replacing: [10: "  - {name: gmail, client_id: g-client}"]),
             expected: ["oauth_clients[1].provider: required (line 10)"]),
        Case(name: "client_id missing",
             yaml: oauthManifest(replacing: [10: "  - {name: gmail, provider: google}"]),
             expected: ["oauth_clients[1].client_id: required (line 10)"]),
        Case(name: "auth oauth2 without oauth_client",
             yaml: oauthManifest(replacing: [14: "    imap: {auth: oauth2}"]),
             expected: ["group_accounts[0].imap.oauth_client: required with auth: oauth2 (line 14)"]),
        Case(name: "smtp auth oauth2 without oauth_client",
             yaml: oauthManifest(replacing: [15: "    smtp: {auth: oauth2}"]),
             expected: ["group_accounts[0].smtp.oauth_client: required with auth: oauth2 (line 15)"]),
        Case(name: "unknown client name",
             yaml: oauthManifest(replacing: [17: "  - {name: Alice Mail, owner: alice, address: alice@gmail.test, imap: {auth: oauth2, oauth_client: gmial}}"]),
             expected: [#"personal_accounts[0].imap.oauth_client: unknown OAuth client "gmial" (define it under oauth_clients) (line 17)"#]),
        Case(name: "a password with auth oauth2",
             yaml: oauthManifest(replacing: [14: "    imap: {auth: oauth2, oauth_client: m365, password: env:PW}",
                                             15: "    smtp: {auth: oauth2, oauth_client: m365, password: env:PW}"]),
             expected: [
                 "group_accounts[0].imap.password: not used with auth: oauth2 (the account logs in with a token) (line 14)",
                 "group_accounts[0].smtp.password: not used when auth is oauth2 (line 15)",
             ]),
        Case(name: "oauth_client without auth oauth2",
             yaml: oauthManifest(replacing: [15: "    smtp: {oauth_client: m365, host: smtp.acme.test, password: env:PW}"]),
             expected: ["group_accounts[0].smtp.oauth_client: only used with auth: oauth2 (line 15)"]),
        Case(name: "imap and smtp name different clients",
             yaml: oauthManifest(replacing: [15: "    smtp: {auth: oauth2, oauth_client: gmail}"]),
             expected: [#"group_accounts[0].smtp.oauth_client: must be imap's client "m365" (an account has one OAuth login) (line 15)"#]),
        Case(name: "unknown auth",
             yaml: oauthManifest(replacing: [14: "    imap: {auth: xoauth2, oauth_client: m365, host: h.test, password: env:PW}"]),
             expected: [
                 "group_accounts[0].imap.auth: expected one of password, oauth2 (line 14)",
                 "group_accounts[0].imap.oauth_client: only used with auth: oauth2 (line 14)",
             ]),
        Case(name: "non-HTTPS endpoint",
             yaml: oauthManifest(replacing: [10: "  - {name: gmail, provider: google, client_id: g, token_url: \"http://idp.corp.test/token\"}"]),
             expected: [#"oauth_clients[1].token_url: must use https:// (http:// sends secrets in clear text; "idp.corp.test" is not in MAILROOM_INSECURE_HOSTS) (line 10)"#]),
        Case(name: "not a URL",
             yaml: oauthManifest(replacing: [10: "  - {name: gmail, provider: google, client_id: g, authorization_url: \"/oauth/authorize\"}"]),
             expected: [#"oauth_clients[1].authorization_url: invalid URL "/oauth/authorize" (an absolute https:// URL) (line 10)"#]),
        Case(name: "generic without token_url and scopes",
             yaml: oauthManifest(replacing: [10: "  - {name: gmail, provider: generic, client_id: g}"]),
             expected: [
                 "oauth_clients[1].token_url: required with provider generic (line 10)",
                 "oauth_clients[1].scopes: required with provider generic (line 10)",
             ]),
        Case(name: "empty scopes",
             yaml: oauthManifest(replacing: [10: "  - {name: gmail, provider: google, client_id: g, scopes: []}"]),
             expected: ["oauth_clients[1].scopes: must list at least one scope (line 10)"]),
        Case(name: "secret_expires_at not a date",
             yaml: oauthManifest(replacing: [9: "    secret_expires_at: next year"]),
             expected: ["oauth_clients[0].secret_expires_at: invalid date (use YYYY-MM-DD) (line 9)"]),
        Case(name: "secret_expires_at without a secret",
             yaml: oauthManifest(replacing: [10: "  - {name: gmail, provider: google, client_id: g, secret_expires_at: 2027-01-01}"]),
             expected: ["oauth_clients[1].secret_expires_at: needs client_secret (line 10)"]),
        Case(name: "client secret variable not set",
             yaml: oauthManifest(replacing: [8: "    client_secret: env:M365_SECRT"]),
             expected: ["oauth_clients[0].client_secret: environment variable M365_SECRT is not set (line 8)"]),
        Case(name: "unknown key in a client",
             yaml: oauthManifest(replacing: [7: "    clientid: x"]),
             expected: [
                 "oauth_clients[0].client_id: required (line 5)",
                 #"oauth_clients[0].clientid: unknown key (did you mean "client_id"?) (line 7)"#,
             ]),
        Case(name: "tenant with another provider",
             yaml: oauthManifest(replacing: [10: "  - {name: gmail, provider: google, client_id: g, tenant: common}"]),
             expected: ["oauth_clients[1].tenant: only used with provider microsoft (line 10)"]),
        Case(name: "duplicate client",
             yaml: oauthManifest(replacing: [10: "  - {name: m365, provider: google, client_id: g}"]),
             expected: [
                 #"oauth_clients[1].name: duplicate OAuth client "m365", first defined on line 5 (line 10)"#,
                 #"personal_accounts[0].imap.oauth_client: unknown OAuth client "gmail" (define it under oauth_clients) (line 17)"#,
             ]),
    ]

    @Test(arguments: cases)
    func reportsExactErrors(_ testCase: Case) {
        #expect(errors(testCase.yaml, environment: oauthEnvironment).map(\.description) == testCase.expected)
    }

    @Test func theClientSecretNeverAppearsInAnError() {
        let yaml = oauthManifest(replacing: [8: "    client_secret: inline-client-secret", 9: "    secret_expires_at: [inline-client-secret"])
        let text = errors(yaml, environment: oauthEnvironment).map(\.description).joined(separator: "\n")
        #expect(!text.isEmpty)
        #expect(!text.contains("inline-client-secret"))
    }
}
