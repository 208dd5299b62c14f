import Foundation
import MailCore
import MailProtocol
import MailTransport

/// Which real IMAP server a test runs against (all three started by `scripts/testenv.sh up`).
public enum IMAPServerKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Dovecot 2.3: Maildir, "/" delimiter, CONDSTORE, ESEARCH.
    case dovecot
    /// Cyrus IMAP 3.6: its own mailbox store, "/" delimiter (unixhierarchysep, altnamespace), CONDSTORE,
    /// ESEARCH; users in a sasldb, mailboxes made by the admin.
    case cyrus
    /// Courier-IMAP 5.0: Maildir++, folders below `INBOX.` with "." as delimiter, no UIDNEXT in SELECT,
    /// no ESEARCH, no CONDSTORE; users in a userdb.
    case courier

    public var description: String { rawValue }
}

/// One of the real IMAP servers of the tests, with what a test needs to make users on it and fill their
/// folders, the same way for all three: `createMailbox`, `createFolder`, `append` (IMAP APPEND as the
/// user), `expunge`, `changeUIDValidity`, `removeMailbox`. Dovecot's extra tools stay on `TestMailServer`.
///
/// The methods block while they run server tools or an IMAP session; they are for test set-up.
public struct IMAPTestServer: Sendable {
    public let kind: IMAPServerKind
    public let host: String
    /// IMAP with STARTTLS (plaintext LOGIN is refused before it on all three).
    public let port: Int
    /// The Dovecot fixture: its environment, its file helpers, and the outbound policy of the tests.
    public let dovecot: TestMailServer
    let variables: [String: String]

    public var outboundPolicy: OutboundPolicy { dovecot.outboundPolicy }

    /// Reads the `MAILROOM_TEST_*` variables of `scripts/testenv.sh up`; throws `MissingEnvironment` when the
    /// server's are not set (tests fail rather than skip).
    public static func fromEnvironment(_ kind: IMAPServerKind) throws -> IMAPTestServer {
        let dovecot = try TestMailServer.fromEnvironment()
        let env = ProcessInfo.processInfo.environment
        let names: [String] = switch kind {
        case .dovecot: []
        case .cyrus: ["MAILROOM_TEST_CYRUS_PORT", "MAILROOM_TEST_CYRUS_ADMIN", "MAILROOM_TEST_CYRUS_ADMIN_PASSWORD",
                      "MAILROOM_TEST_CYRUS_SASLPASSWD"]
        case .courier: ["MAILROOM_TEST_COURIER_PORT", "MAILROOM_TEST_COURIER_USERDB", "MAILROOM_TEST_COURIER_MAKEUSERDB",
                        "MAILROOM_TEST_COURIER_MAIL_ROOT", "MAILROOM_TEST_MAIL_UID", "MAILROOM_TEST_MAIL_GID"]
        }
        var variables: [String: String] = [:]
        for name in names {
            guard let value = env[name], !value.isEmpty else { throw TestMailServer.MissingEnvironment(variable: name) }
            variables[name] = value
        }
        let port: Int = switch kind {
        case .dovecot: dovecot.imapPort
        case .cyrus: Int(variables["MAILROOM_TEST_CYRUS_PORT"]!) ?? 0
        case .courier: Int(variables["MAILROOM_TEST_COURIER_PORT"]!) ?? 0
        }
        guard (1...65535).contains(port) else {
            throw TestMailServer.MissingEnvironment(variable: "MAILROOM_TEST_\(kind.rawValue.uppercased())_PORT")
        }
        return IMAPTestServer(kind: kind, host: dovecot.host, port: port, dovecot: dovecot, variables: variables)
    }

    /// An endpoint that logs in to `mailbox` over STARTTLS (the test certificate is self-signed).
    public func endpoint(for mailbox: TestMailbox) -> IMAPEndpoint {
        IMAPEndpoint(host: host, port: port, security: .starttls, verifyTLS: false,
                     username: mailbox.username, password: mailbox.secret,
                     connectTimeout: .seconds(30), ioTimeout: .seconds(30), policy: outboundPolicy)
    }

    /// The server's name for a folder given by its path: `["Rechnungen", "Größe"]` is `Rechnungen/Größe` on
    /// Dovecot and Cyrus and `INBOX.Rechnungen.Größe` on Courier (personal namespace `INBOX.`, delimiter ".").
    public func folderName(_ path: [String]) -> String {
        if path.count == 1 && path[0].uppercased() == "INBOX" { return "INBOX" }
        return kind == .courier ? (["INBOX"] + path).joined(separator: ".") : path.joined(separator: "/")
    }

    /// Adds a user `prefix-<random>` with a random password and an empty INBOX, able to log in at once.
    /// Dovecot: a passwd-file of its own (address `…@test.local`). Cyrus: a sasldb entry, and `CREATE
    /// user/<name>` by the admin. Courier: a userdb entry compiled with makeuserdb, and a Maildir.
    public func createMailbox(prefix: String) throws -> TestMailbox {
        if kind == .dovecot { return try dovecot.createMailbox(prefix: prefix) }
        let local = prefix.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        let name = "\(local.isEmpty ? "user" : String(local.prefix(40)))-\(TestMailServer.randomToken(12))"
        let mailbox = TestMailbox(address: "\(name)@\(TestMailServer.domain)", password: TestMailServer.randomToken(24),
                                  username: name)
        switch kind {
        case .dovecot: break
        case .cyrus:
            try CommandRunner.check(variables["MAILROOM_TEST_CYRUS_SASLPASSWD"]!, ["-p", "-c", name],
                                    input: Array(mailbox.password.utf8))
            try asCyrusAdmin(["CREATE \(IMAPCommand.quotedMailbox("user/\(name)"))"])
        case .courier:
            try createCourierUser(mailbox)
        }
        return mailbox
    }

    /// Creates `folder` (the server's name for it, see `folderName`) as the user; one that exists already
    /// is left alone. INBOX always exists.
    public func createFolder(_ mailbox: TestMailbox, folder: String) throws {
        guard folder.uppercased() != "INBOX" else { return }
        let session = try IMAPSession(endpoint: endpoint(for: mailbox))
        if try session.listMailboxes().contains(where: { $0.name == folder }) { return }
        try session.createFolder(folder)
    }

    /// Appends `messages` (raw RFC 5322 bytes) to `folder` as the user, in order, over IMAP, and returns their
    /// UIDs. libcurl's APPEND marks them `\Seen`; the importer takes every message whatever its flags.
    @discardableResult
    public func append(_ mailbox: TestMailbox, folder: String = "INBOX", messages: [[UInt8]]) throws -> [UID] {
        try createFolder(mailbox, folder: folder)
        let session = try IMAPSession(endpoint: endpoint(for: mailbox))
        return try messages.map { message in
            guard let uid = try session.append(folder, message: message) else {
                throw CommandRunner.Failure(command: "APPEND", status: 0, stderr: "no APPENDUID from \(kind)")
            }
            return uid
        }
    }

    /// The folder's UIDVALIDITY and number of messages, as the user sees them (EXAMINE).
    public func status(_ mailbox: TestMailbox, folder: String = "INBOX") throws -> (uidValidity: UIDValidity, messages: Int) {
        let status = try IMAPSession(endpoint: endpoint(for: mailbox)).examine(folder)
        return (status.uidValidity, status.exists)
    }

    /// Removes a mailbox made by `createMailbox`: its mail and its user.
    public func removeMailbox(_ mailbox: TestMailbox) throws {
        switch kind {
        case .dovecot:
            try dovecot.removeMailbox(mailbox)
        case .cyrus:
            // The admin may delete only what it has the `x` right on; it can always grant itself that.
            let name = IMAPCommand.quotedMailbox("user/\(mailbox.username)")
            let admin = variables["MAILROOM_TEST_CYRUS_ADMIN"]!
            try asCyrusAdmin(["SETACL \(name) \(admin) lrswipkxtecda", "DELETE \(name)"])
            try CommandRunner.check(variables["MAILROOM_TEST_CYRUS_SASLPASSWD"]!, ["-d", mailbox.username])
        case .courier:
            try removeCourierUser(mailbox)
        }
    }
}
