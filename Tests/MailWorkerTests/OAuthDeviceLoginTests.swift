import Foundation
import MailCore
import MailCrypto
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// `mailroom oauth login`: the device authorization grant (RFC 8628) through the real binary and the
/// test token server.
@Suite(.serialized) struct OAuthDeviceLoginTests {
    /// A tenant whose group account logs in with OAuth through a client at `deviceURL` (the token
    /// server's own device endpoint unless given), without a login yet.
    static func setUp(_ prefix: String, deviceURL: String? = nil, device: Bool = true, authorize: Bool = false) async throws -> Setup {
        let f = try await WorkerFixture.make()
        let tokens = try TestTokenServer.fromEnvironment()
        let box = try f.server.createMailbox(prefix: prefix)
        let (tenant, slug) = try await f.tenant(prefix, accounts: [.init(name: "Support", mailbox: box)])
        let base = tokens.baseURL.absoluteString.hasSuffix("/") ? String(tokens.baseURL.absoluteString.dropLast()) : tokens.baseURL.absoluteString
        let deviceEndpoint: String? = device ? (deviceURL ?? base + "/devicecode") : nil
        let authorizationEndpoint: String? = authorize ? base + "/authorize" : nil
        let account = try await f.query(tenant) { conn -> AccountID in
            let account: AccountID = try conn.query("SELECT id FROM mail_account WHERE name = 'Support'").one().decode(at: 0)
            let client: Int64 = try conn.query("""
                INSERT INTO oauth_client (tenant_id, name, provider, client_id, token_url, device_authorization_url, authorization_url, scopes)
                VALUES (\(tenant), 'test', 'generic', 'mailroom-tests', \(base + "/token"), \(deviceEndpoint), \(authorizationEndpoint),
                        '{mail}') RETURNING id
                """).one().decode(at: 0)
            try conn.execute("UPDATE mail_account SET imap_auth = 'oauth2', oauth_client_id = \(client), imap_secret = NULL WHERE id = \(account)")
            return account
        }
        return Setup(f: f, tokens: tokens, tenant: tenant, slug: slug, account: account, box: box)
    }

    @Test func approvedDeviceCodeStoresTheLogin() async throws {
        let s = try await Self.setUp("oauth-device")
        _ = try await s.tokens.makeUser(s.box.address)
        let login = try LoginProcess(s)
        let shown = login.read(until: "Waiting for the approval")
        let code = try #require(shown.firstMatch(of: /enter the code ([A-Z0-9]+)/)?.1, "\(shown)")
        #expect(shown.contains("/device"))
        try await s.tokens.approveDevice(userCode: String(code), as: s.box.address)
        let result = login.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("OAuth login stored"))
        let state = try await s.f.query(s.tenant) { try $0.query("SELECT state FROM oauth_grant WHERE account_id = \(s.account)").one().decode(String.self, at: 0) }
        #expect(state == "active")
        // The stored login works: a delivered message is imported over IMAP with its token.
        try s.f.server.deliverToMaildir(s.box, messages: [TestMessages.plain(id: "oauth-device-1@x.test", subject: "Device")])
        let reports = try await s.f.importAll(s.tenant)
        #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
        #expect(reports.reduce(0) { $0 + $1.imported } == 1)
    }

    /// The mailbox-identity check: a device code approved by someone signed in as another mailbox
    /// yields working tokens, but not for the account's mailbox. The new token fails the IMAP login as
    /// the account's username, so nothing is stored and the error says so; an import of that other
    /// mailbox's refresh token is refused the same way.
    @Test func aLoginForAnotherMailboxIsRefused() async throws {
        let s = try await Self.setUp("oauth-device-other")
        let other = try s.f.server.createMailbox(prefix: "oauth-device-intruder")
        _ = try await s.tokens.makeUser(other.address)
        let login = try LoginProcess(s)
        let shown = login.read(until: "Waiting for the approval")
        let code = try #require(shown.firstMatch(of: /enter the code ([A-Z0-9]+)/)?.1, "\(shown)")
        try await s.tokens.approveDevice(userCode: String(code), as: other.address)
        let result = login.finish()
        #expect(result.status != 0)
        #expect(result.stderr.contains("the login is for another mailbox"), "\(result.stderr)")
        #expect(result.stderr.contains(s.box.address), "\(result.stderr)")
        #expect(!result.stderr.contains("at-") && !result.stdout.contains("at-"), "no token is printed")
        #expect(try await s.f.count(s.tenant, "SELECT count(*) FROM oauth_grant") == 0)

        // The other mailbox's refresh token (fresh: the device login above rotated the first one away).
        let intruder = try await s.tokens.makeUser(other.address)
        let client: Int64 = try await s.f.query(s.tenant) {
            try $0.query("SELECT oauth_client_id FROM mail_account WHERE id = \(s.account)").one().decode(at: 0)
        }
        let tokens = OAuthTokens(pool: s.f.pool, keyring: try SecretKeyring(current: s.f.key),
                                 policy: try OutboundPolicy.fromEnvironment(ProcessInfo.processInfo.environment), logger: .init(label: "test.oauth"))
        await #expect(throws: MailboxIdentityError.self) {
            _ = try await tokens.importLogin(tenant: s.tenant, account: s.account, client: client, refreshToken: intruder.refreshToken)
        }
        #expect(try await s.f.count(s.tenant, "SELECT count(*) FROM oauth_grant") == 0)
    }

    @Test func expiredDeviceCodeFailsClearly() async throws {
        // A device code the token server never issued (or long expired): it answers expired_token.
        let device = try CannedHTTPServer(json: """
            {"device_code": "dc-never-issued", "user_code": "EXPIRED1", "verification_uri": "http://127.0.0.1/device", "expires_in": 600, "interval": 1}
            """)
        let s = try await Self.setUp("oauth-device-expired", deviceURL: "http://127.0.0.1:\(device.port)/devicecode")
        let result = try LoginProcess(s).finish()
        #expect(result.status != 0)
        #expect(result.stdout.contains("EXPIRED1"))
        #expect(result.stderr.contains("the device code expired"), "\(result.stderr)")
        #expect(try await s.f.count(s.tenant, "SELECT count(*) FROM oauth_grant") == 0)
        withExtendedLifetime(device) {}
    }

    /// Without a device flow: a loopback redirect (RFC 8252), the browser's hops followed with URLSession.
    @Test func loopbackRedirectStoresTheLogin() async throws {
        let s = try await Self.setUp("oauth-loopback", device: false, authorize: true)
        _ = try await s.tokens.makeUser(s.box.address)
        let login = try LoginProcess(s)
        let shown = login.read(until: "Waiting for the browser")
        let url = try #require(shown.split(separator: "\n").first { $0.hasPrefix("http") }.map(String.init), "\(shown)")
        let q = BrowserStep.query(url)
        #expect(q["code_challenge_method"] == "S256" && q["login_hint"] == s.box.address)
        #expect(q["redirect_uri"]?.hasPrefix("http://127.0.0.1:") == true)
        // Another state on the loopback is not this login: ignored, the command keeps waiting.
        let port = try #require(URLComponents(string: q["redirect_uri"] ?? "")?.port)
        #expect(try await BrowserStep.get("http://127.0.0.1:\(port)/oauth/callback?code=x&state=forged").status == 400)
        let back = try await BrowserStep.get(url)
        #expect(back.status == 302)
        let done = try await BrowserStep.get(try #require(back.location))
        #expect(done.status == 200 && done.body.contains("Mailbox connected"))
        let result = login.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("OAuth login stored"))
        let state = try await s.f.query(s.tenant) { try $0.query("SELECT state FROM oauth_grant WHERE account_id = \(s.account)").one().decode(String.self, at: 0) }
        #expect(state == "active")
    }

    @Test func clientWithoutDeviceFlowIsNamed() async throws {
        let s = try await Self.setUp("oauth-device-none", device: false)
        let result = try LoginProcess(s).finish()
        #expect(result.status != 0)
        #expect(result.stderr.contains("has no device flow"), "\(result.stderr)")
    }
}

/// `mailroom oauth login` running; its output read as it comes.
final class LoginProcess: @unchecked Sendable {
    let process = Process()
    let out = Pipe(), err = Pipe()
    var stdout = ""

    init(_ s: OAuthDeviceLoginTests.Setup) throws {
        process.executableURL = URL(fileURLWithPath: MailroomBinary.path)
        process.arguments = ["oauth", "login", "--tenant", s.slug, "--account", "Support"]
        var environment = ProcessInfo.processInfo.environment
        environment["MAILROOM_DATABASE_URL"] = try TestDatabase.url()
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    /// Reads stdout until it contains `text` (or the process closed it).
    func read(until text: String) -> String {
        while !stdout.contains(text) {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            stdout += String(decoding: data, as: UTF8.self)
        }
        return stdout
    }

    func finish() -> (status: Int32, stdout: String, stderr: String) {
        stdout += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, e)
    }

    /// A failed test leaves no login command behind.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }
}

