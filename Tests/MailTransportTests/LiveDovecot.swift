import Foundation
import MailCore
import MailTransport
import Testing

/// The real Dovecot the live tests talk to, described by environment variables. A missing
/// variable fails the test with a message naming it: these tests never skip.
struct LiveDovecot: Sendable {
    static let variables = [
        "MAILROOM_TEST_IMAP_HOST", "MAILROOM_TEST_IMAP_PORT", "MAILROOM_TEST_IMAPS_PORT",
        "MAILROOM_TEST_DOVECOT_CONF", "MAILROOM_TEST_DOVECOT_PASSWD", "MAILROOM_TEST_MAIL_ROOT",
        "MAILROOM_ALLOWED_HOSTS", "MAILROOM_INSECURE_HOSTS",
    ]

    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    let host: String
    let starttlsPort: Int
    let imapsPort: Int
    let configPath: String
    let passwdPath: String
    /// Where the server keeps mailboxes (users' Maildirs are somewhere below).
    let mailRoot: String
    /// The operator's lists from the test environment: the server is on loopback.
    let policy: OutboundPolicy

    static func fromEnvironment() throws -> LiveDovecot {
        let environment = ProcessInfo.processInfo.environment
        let missing = variables.filter { (environment[$0] ?? "").isEmpty }
        guard missing.isEmpty else {
            throw Unavailable(description: "Live IMAP tests need a running Dovecot; set \(missing.joined(separator: ", ")) "
                + "(e.g. `source scripts/testenv.sh up`).")
        }
        guard let starttls = Int(environment["MAILROOM_TEST_IMAP_PORT"]!),
            let imaps = Int(environment["MAILROOM_TEST_IMAPS_PORT"]!)
        else { throw Unavailable(description: "MAILROOM_TEST_IMAP_PORT / MAILROOM_TEST_IMAPS_PORT must be numbers") }
        return LiveDovecot(host: environment["MAILROOM_TEST_IMAP_HOST"]!, starttlsPort: starttls, imapsPort: imaps,
                           configPath: environment["MAILROOM_TEST_DOVECOT_CONF"]!,
                           passwdPath: environment["MAILROOM_TEST_DOVECOT_PASSWD"]!,
                           mailRoot: environment["MAILROOM_TEST_MAIL_ROOT"]!,
                           policy: try OutboundPolicy.fromEnvironment(environment))
    }

    struct Account: Sendable {
        let username: String
        let password: Secret
    }

    /// A new user with an empty INBOX, added to the passwd-file. `O_APPEND` keeps concurrent
    /// tests' lines whole. Dovecot re-reads a changed passwd-file at most once a second, so this
    /// returns once `doveadm auth lookup` finds the user.
    func newAccount(_ label: String) throws -> Account {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let account = Account(username: "mt-\(label)-\(suffix)", password: Secret("pw-\(UUID().uuidString)"))
        let line = Array("\(account.username):{PLAIN}\(account.password.value)::::::\n".utf8)
        let fd = open(passwdPath, O_WRONLY | O_APPEND)
        guard fd >= 0 else { throw Unavailable(description: "cannot open \(passwdPath) for appending") }
        defer { close(fd) }
        guard write(fd, line, line.count) == line.count else {
            throw Unavailable(description: "cannot append to \(passwdPath)")
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? doveadm(["auth", "lookup", account.username])) == nil {
            guard ContinuousClock.now < deadline else {
                throw Unavailable(description: "Dovecot did not pick up user \(account.username) from \(passwdPath)")
            }
        }
        return account
    }

    func endpoint(_ account: Account, security: TransportSecurity = .starttls, verifyTLS: Bool = false,
                  password: Secret? = nil) -> IMAPEndpoint {
        IMAPEndpoint(host: host, port: security == .tls ? imapsPort : starttlsPort, security: security,
                     verifyTLS: verifyTLS, username: account.username, password: password ?? account.password,
                     // Generous: Dovecot delays logins after failed ones from the same address
                     // (auth_failure_delay, anvil penalty up to 15 s), and libcurl counts the
                     // login into the connect phase.
                     connectTimeout: .seconds(30), ioTimeout: .seconds(30), policy: policy)
    }

    /// Runs `doveadm -c CONF arguments…` and fails with its output when it exits non-zero.
    func doveadm(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["doveadm", "-c", configPath] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Unavailable(description: "doveadm \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }
}

/// A small RFC 5322 message with CRLF line ends.
func testMessage(subject: String, body: String = "Hello.\r\n", extraHeaders: String = "") -> [UInt8] {
    Array(("From: Sender <sender@example.com>\r\nTo: rcpt@example.com\r\nSubject: \(subject)\r\n"
        + "Message-ID: <\(UUID().uuidString)@example.com>\r\n\(extraHeaders)\r\n\(body)").utf8)
}

/// A fresh account and an open connection to it.
func connect(_ label: String, security: TransportSecurity = .starttls) async throws
    -> (LiveDovecot, LiveDovecot.Account, IMAPConnection)
{
    let server = try LiveDovecot.fromEnvironment()
    let account = try server.newAccount(label)
    let connection = try await IMAPConnection(endpoint: server.endpoint(account, security: security))
    return (server, account, connection)
}
