import Foundation
import MailCore

/// A mailbox on a test IMAP server: log in with `username` (on Dovecot the full address) and the password.
public struct TestMailbox: Sendable, Hashable {
    public let address: String
    public let password: String
    /// The IMAP login name: the address on Dovecot, the bare user name on Cyrus and Courier.
    public let username: String

    public init(address: String, password: String, username: String? = nil) {
        self.address = address
        self.password = password
        self.username = username ?? address
    }

    /// The password wrapped so that it prints as `<redacted>`.
    public var secret: Secret { Secret(password) }
}

/// The real Dovecot and Postfix that tests run against, started by `scripts/testenv.sh up`.
///
/// Tests isolate themselves by mailbox: each creates its own users with `createMailbox(prefix:)` and never
/// touches anyone else's. Mail can arrive three ways: `deliverToMaildir` (files written straight into the
/// Maildir, then indexed: thousands of messages a second), SMTP to `mxPort` (Postfix → LMTP → Dovecot, like
/// real inbound mail), or authenticated submission on `submissionPort` (STARTTLS) or `smtpsPort` (implicit TLS).
///
/// The methods block while `doveadm` runs; they are for test set-up, not for code under test.
public struct TestMailServer: Sendable {
    /// A required variable is missing: tests fail rather than skip when the servers are not there.
    public struct MissingEnvironment: Error, CustomStringConvertible {
        public let variable: String
        public var description: String {
            "\(variable) is not set: run the tests through `make test`, or `scripts/testenv.sh up` and "
                + "`source .testenv/env`"
        }
    }

    /// The domain of every mailbox `createMailbox` makes.
    public static let domain = "test.local"

    public let host: String
    /// IMAP with STARTTLS.
    public let imapPort: Int
    /// IMAP over implicit TLS.
    public let imapsPort: Int
    /// Postfix inbound SMTP: no authentication, delivers any address to Dovecot over LMTP.
    public let mxPort: Int
    /// Postfix submission: STARTTLS required, then AUTH PLAIN/LOGIN checked against the Dovecot users.
    public let submissionPort: Int
    /// Postfix submission over implicit TLS (RFC 8314, what port 465 does): AUTH PLAIN/LOGIN as on
    /// `submissionPort`.
    public let smtpsPort: Int
    /// Postfix's log file: one line per authenticated submission names the service, the SASL
    /// mechanism and the user (`postfix/smtps/smtpd[…]: …: client=…, sasl_method=LOGIN, sasl_username=…`).
    public let postfixLog: String
    public let dovecotConfig: String
    /// The shared passwd-file. Dovecot re-reads it at most once a second, so a line appended right after a
    /// lookup is not seen at once: `createMailbox` uses `usersDirectory` instead.
    public let passwdFile: String
    /// One passwd-file per user, named after the address: read at the user's first lookup.
    public let usersDirectory: String
    public let mailRoot: String
    /// The operator's outbound policy for the tests (`MAILROOM_ALLOWED_HOSTS`,
    /// `MAILROOM_INSECURE_HOSTS`): the test servers listen on loopback, which only these lists allow.
    public var outboundPolicy = OutboundPolicy()

    public init(
        host: String, imapPort: Int, imapsPort: Int, mxPort: Int, submissionPort: Int, smtpsPort: Int, postfixLog: String,
        dovecotConfig: String, passwdFile: String, usersDirectory: String, mailRoot: String
    ) {
        self.host = host
        self.imapPort = imapPort
        self.imapsPort = imapsPort
        self.mxPort = mxPort
        self.submissionPort = submissionPort
        self.smtpsPort = smtpsPort
        self.postfixLog = postfixLog
        self.dovecotConfig = dovecotConfig
        self.passwdFile = passwdFile
        self.usersDirectory = usersDirectory
        self.mailRoot = mailRoot
    }

    /// Reads the `MAILROOM_TEST_*` variables written to `.testenv/env` by `scripts/testenv.sh up`.
    public static func fromEnvironment() throws -> TestMailServer {
        let env = ProcessInfo.processInfo.environment
        func string(_ name: String) throws -> String {
            guard let value = env[name], !value.isEmpty else { throw MissingEnvironment(variable: name) }
            return value
        }
        func port(_ name: String) throws -> Int {
            guard let value = Int(try string(name)), (1...65535).contains(value) else {
                throw MissingEnvironment(variable: name)
            }
            return value
        }
        // Both lists must be set: without them every connection to the loopback servers is refused.
        _ = try string(OutboundPolicy.allowedHostsVariable)
        _ = try string(OutboundPolicy.insecureHostsVariable)
        var server = TestMailServer(
            host: try string("MAILROOM_TEST_IMAP_HOST"),
            imapPort: try port("MAILROOM_TEST_IMAP_PORT"),
            imapsPort: try port("MAILROOM_TEST_IMAPS_PORT"),
            mxPort: try port("MAILROOM_TEST_MX_PORT"),
            submissionPort: try port("MAILROOM_TEST_SUBMISSION_PORT"),
            smtpsPort: try port("MAILROOM_TEST_SMTPS_PORT"),
            postfixLog: try string("MAILROOM_TEST_POSTFIX_LOG"),
            dovecotConfig: try string("MAILROOM_TEST_DOVECOT_CONF"),
            passwdFile: try string("MAILROOM_TEST_DOVECOT_PASSWD"),
            usersDirectory: try string("MAILROOM_TEST_DOVECOT_USERS_DIR"),
            mailRoot: try string("MAILROOM_TEST_MAIL_ROOT")
        )
        server.outboundPolicy = try OutboundPolicy.fromEnvironment(env)
        return server
    }

    /// Adds a user `prefix-<random>@test.local` with a random password, in a passwd-file of its own that
    /// Dovecot reads at the first lookup: the user can log in and receive mail at once.
    public func createMailbox(prefix: String) throws -> TestMailbox {
        // Dovecot lower-cases login names (auth_username_format = %Lu) before looking them up.
        let local = prefix.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        let address = "\(local.isEmpty ? "user" : String(local.prefix(40)))-\(Self.randomToken(12))@\(Self.domain)"
        let mailbox = TestMailbox(address: address, password: Self.randomToken(24))
        // passwd-file line: user:password:uid:gid:gecos:home:shell:extra (uid, gid and home come from the config).
        try writeUserFile(
            "\(usersDirectory)/\(mailbox.address)", line: "\(mailbox.address):{PLAIN}\(mailbox.password)::::::\n"
        )
        return mailbox
    }

    /// Removes a mailbox made by `createMailbox`: its messages, its Maildir and its user, so that a
    /// benchmark leaves no mail behind. Call it once nothing delivers to the mailbox any more (mail
    /// arriving later bounces: the user is unknown).
    public func removeMailbox(_ mailbox: TestMailbox) throws {
        // Kicks sessions still open on it; a user without any is not an error.
        _ = try? CommandRunner.run(try doveadmPath(), ["-c", dovecotConfig, "kick", mailbox.address])
        let parts = mailbox.address.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !mailbox.address.contains("/") else {
            throw CommandRunner.Failure(command: "removeMailbox", status: 1, stderr: "not a test address: \(mailbox.address)")
        }
        // mail_home = <mail root>/%d/%n (scripts/testenv.sh).
        let home = "\(mailRoot)/\(parts[1])/\(parts[0])"
        if FileManager.default.fileExists(atPath: home) { try FileManager.default.removeItem(atPath: home) }
        let userFile = "\(usersDirectory)/\(mailbox.address)"
        if FileManager.default.fileExists(atPath: userFile) { try FileManager.default.removeItem(atPath: userFile) }
    }

    /// Creates `folder` for `mailbox` unless it already exists. INBOX always exists.
    public func createFolder(_ mailbox: TestMailbox, folder: String) throws {
        if folder.uppercased() == "INBOX" {
            // Opening INBOX makes Dovecot create the user's Maildir.
            _ = try messageCount(mailbox, folder: "INBOX")
            return
        }
        let output = try CommandRunner.run(try doveadmPath(), ["-c", dovecotConfig, "mailbox", "create", "-u", mailbox.address, folder])
        if output.status != 0 && !output.stderr.contains("already exists") {
            throw CommandRunner.Failure(command: "doveadm mailbox create \(folder)", status: output.status, stderr: output.stderr)
        }
    }

    /// Puts `messages` (raw RFC 5322 bytes, CRLF line ends preferred) into `folder` as new, unseen mail.
    ///
    /// Each message is written to the Maildir's `tmp/` and renamed into `new/` (the Maildir delivery
    /// protocol), owned by the mail user; then `doveadm force-resync` assigns UIDs in the order of `messages`.
    public func deliverToMaildir(_ mailbox: TestMailbox, folder: String = "INBOX", messages: [[UInt8]]) throws {
        try createFolder(mailbox, folder: folder)
        let path = try doveadm(["mailbox", "path", "-u", mailbox.address, folder])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var owner = stat()
        guard stat(path, &owner) == 0 else { throw FileError(operation: "stat", path: path, code: errno) }
        for sub in ["tmp", "new", "cur"] {
            try makeDirectory("\(path)/\(sub)", uid: owner.st_uid, gid: owner.st_gid)
        }
        let batch = "\(Int(Date().timeIntervalSince1970)).R\(Self.randomToken(16))"
        for (index, message) in messages.enumerated() {
            // Dovecot numbers new files in name order: zero-padding keeps that the order of `messages`.
            let name = "\(batch)Q\(String(repeating: "0", count: max(0, 8 - String(index).count)))\(index).mailroom-test"
            try writeFile("\(path)/tmp/\(name)", bytes: message, uid: owner.st_uid, gid: owner.st_gid)
            guard rename("\(path)/tmp/\(name)", "\(path)/new/\(name)") == 0 else {
                throw FileError(operation: "rename", path: "\(path)/new/\(name)", code: errno)
            }
        }
        try doveadm(["force-resync", "-u", mailbox.address, folder])
    }

    /// Sets the folder's UIDVALIDITY, as a server does after rebuilding a mailbox. Open IMAP sessions on
    /// the folder get BYE.
    public func setUIDValidity(_ mailbox: TestMailbox, folder: String = "INBOX", to value: UIDValidity) throws {
        try doveadm(["mailbox", "update", "-u", mailbox.address, "--uid-validity", String(value.rawValue), folder])
    }

    /// The number of messages in the folder, as Dovecot reports it.
    public func messageCount(_ mailbox: TestMailbox, folder: String = "INBOX") throws -> Int {
        let status = try mailboxStatus(mailbox, folder: folder, fields: ["messages"])
        guard let count = status["messages"].flatMap({ Int($0) }) else {
            throw CommandRunner.Failure(command: "doveadm mailbox status", status: 0, stderr: "no messages field")
        }
        return count
    }

    /// `doveadm mailbox status` fields (`messages`, `uidnext`, `uidvalidity`, `unseen`, …) by name.
    public func mailboxStatus(_ mailbox: TestMailbox, folder: String = "INBOX", fields: [String]) throws -> [String: String] {
        let output = try doveadm(["mailbox", "status", "-u", mailbox.address, fields.joined(separator: " "), folder])
        var result: [String: String] = [:]
        // Output is "NAME field=value field=value"; the folder name may itself contain spaces.
        for pair in output.split(whereSeparator: \.isWhitespace) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    /// Runs `doveadm -c <test config> args…` and returns its standard output.
    @discardableResult
    public func doveadm(_ args: [String]) throws -> String {
        try CommandRunner.check(try doveadmPath(), ["-c", dovecotConfig] + args)
    }

    private func doveadmPath() throws -> String {
        guard let path = CommandRunner.locate("doveadm") else {
            throw CommandRunner.Failure(command: "doveadm", status: 127, stderr: "doveadm not found in PATH")
        }
        return path
    }

    static func randomToken(_ length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<length).map { _ in alphabet.randomElement()! })
    }
}
