import Foundation
import MailCore
import MailProtocol

#if canImport(Glibc)
import Glibc
#endif

extension IMAPTestServer {
    /// Expunges `uids` from `folder` as the user (`UID STORE … +FLAGS.SILENT (\Deleted)`, `EXPUNGE`).
    public func expunge(_ mailbox: TestMailbox, folder: String = "INBOX", uids: [UID]) throws {
        let set = uids.map { String($0.rawValue) }.joined(separator: ",")
        try imapScript(login: mailbox, [
            "SELECT \(IMAPCommand.quotedMailbox(folder))", "UID STORE \(set) +FLAGS.SILENT (\\Deleted)", "EXPUNGE",
        ])
    }

    /// Gives `folder` a new UIDVALIDITY the way each server's operators meet it: Dovecot's `doveadm mailbox
    /// update --uid-validity` (messages stay, renumbered in the new epoch); on Cyrus the folder is renamed
    /// away and created anew, empty (its UIDVALIDITY is never reused); on Courier the folder's
    /// `courierimapuiddb` is rewritten with the next UIDVALIDITY, as when that file is lost and rebuilt
    /// (messages stay). Returns the new UIDVALIDITY.
    @discardableResult
    public func changeUIDValidity(_ mailbox: TestMailbox, folder: String = "INBOX") throws -> UIDValidity {
        let old = try status(mailbox, folder: folder).uidValidity
        switch kind {
        case .dovecot:
            try dovecot.setUIDValidity(mailbox, folder: folder, to: UIDValidity(old.rawValue &+ 1))
        case .cyrus:
            let away = "\(folder)-old-\(TestMailServer.randomToken(6))"
            try imapScript(login: mailbox, [
                "RENAME \(IMAPCommand.quotedMailbox(folder)) \(IMAPCommand.quotedMailbox(away))",
                "CREATE \(IMAPCommand.quotedMailbox(folder))",
            ])
        case .courier:
            let path = "\(courierMaildir(mailbox))/\(folder == "INBOX" ? "" : String(folder.dropFirst("INBOX".count)))"
            let file = "\(path)/courierimapuiddb"
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            // First line: "1 <uidvalidity> <next uid>"; then "<uid> <file name>" for each message.
            let header = lines.first?.split(separator: " ") ?? []
            guard header.count == 3, header[0] == "1" else {
                throw CommandRunner.Failure(command: "read \(file)", status: 0, stderr: "unknown courierimapuiddb format")
            }
            let content = (["1 \(old.rawValue &+ 1) \(header[2])"] + lines.dropFirst()).joined(separator: "\n")
            var owner = stat()
            guard stat(file, &owner) == 0 else { throw FileError(operation: "stat", path: file, code: errno) }
            let temporary = "\(path)/.tmp-uiddb-\(TestMailServer.randomToken(8))"
            try dovecot.writeFile(temporary, bytes: Array(content.utf8), mode: 0o644, uid: owner.st_uid, gid: owner.st_gid)
            guard rename(temporary, file) == 0 else { throw FileError(operation: "rename", path: file, code: errno) }
        }
        let new = try status(mailbox, folder: folder).uidValidity
        guard new != old else {
            throw CommandRunner.Failure(command: "changeUIDValidity", status: 0, stderr: "\(kind) kept UIDVALIDITY \(old.rawValue)")
        }
        return new
    }

    // MARK: - IMAP as a script

    /// Runs `commands` in one IMAP session over STARTTLS as `login` (or Cyrus's admin) through `openssl
    /// s_client`, one at a time, then LOGOUT; throws unless LOGIN and every command end in a tagged OK.
    /// For commands the transport does not offer (RENAME, DELETE, SETACL, EXPUNGE).
    ///
    /// Never pipelined: Courier's imaplogin execs imapd after LOGIN, and whatever the client sent behind the
    /// LOGIN line is lost with imaplogin's buffer (the session then waits forever).
    @discardableResult
    func imapScript(login: TestMailbox, _ commands: [String]) throws -> String {
        guard let openssl = CommandRunner.locate("openssl") else {
            throw CommandRunner.Failure(command: "openssl", status: 127, stderr: "openssl not found in PATH")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        // -ign_eof: s_client keeps the connection when our input ends; LOGOUT ends it.
        process.arguments = ["s_client", "-quiet", "-ign_eof", "-starttls", "imap", "-connect", "\(host):\(port)",
                             "-servername", "localhost"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // A server that never answers must not hang the test run: the session gets 60 s in all.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        defer {
            watchdog.cancel()
            try? input.fileHandleForWriting.close()
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        var transcript = ""
        var pending = Data()
        func send(_ tag: String, _ text: String, shown: String) throws {
            input.fileHandleForWriting.write(Data("\(tag) \(text)\r\n".utf8))
            // Read up to the tagged completion of `tag`.
            while true {
                if let range = pending.firstRange(of: Data("\r\n".utf8)) {
                    let line = String(decoding: pending[..<range.lowerBound], as: UTF8.self)
                    pending.removeSubrange(..<range.upperBound)
                    transcript += line + "\r\n"
                    guard line.hasPrefix("\(tag) ") else { continue }
                    guard line.hasPrefix("\(tag) OK") else {
                        throw CommandRunner.Failure(command: "IMAP \(shown)", status: 0, stderr: line)
                    }
                    return
                }
                let chunk = output.fileHandleForReading.availableData
                guard !chunk.isEmpty else {
                    throw CommandRunner.Failure(command: "IMAP \(shown)", status: 0, stderr: "connection closed before \(tag) completed")
                }
                pending.append(chunk)
            }
        }
        try send("A0", "LOGIN \(IMAPCommand.quoted(login.username)) \(IMAPCommand.quoted(login.password))", shown: "LOGIN")
        for (index, command) in commands.enumerated() {
            try send("A\(index + 1)", command, shown: command)
        }
        try send("A\(commands.count + 1)", "LOGOUT", shown: "LOGOUT")
        return transcript
    }

    func asCyrusAdmin(_ commands: [String]) throws {
        let admin = TestMailbox(address: variables["MAILROOM_TEST_CYRUS_ADMIN"]!,
                                password: variables["MAILROOM_TEST_CYRUS_ADMIN_PASSWORD"]!)
        try imapScript(login: admin, commands)
    }

    // MARK: - Courier users

    func courierMaildir(_ mailbox: TestMailbox) -> String {
        "\(variables["MAILROOM_TEST_COURIER_MAIL_ROOT"]!)/\(mailbox.username)/Maildir"
    }

    /// A home with a Maildir owned by the mail user, a userdb file of its own (mode 0600, the userdb
    /// directory must not be readable by others), and makeuserdb to compile them all into userdb.dat, which
    /// authdaemond reads at the next login.
    func createCourierUser(_ mailbox: TestMailbox) throws {
        guard let uid = uid_t(variables["MAILROOM_TEST_MAIL_UID"]!), let gid = gid_t(variables["MAILROOM_TEST_MAIL_GID"]!),
            let openssl = CommandRunner.locate("openssl")
        else { throw TestMailServer.MissingEnvironment(variable: "MAILROOM_TEST_MAIL_UID") }
        let maildir = courierMaildir(mailbox)
        let home = (maildir as NSString).deletingLastPathComponent
        for directory in [home, maildir, "\(maildir)/tmp", "\(maildir)/new", "\(maildir)/cur"] {
            try dovecot.makeDirectory(directory, uid: uid, gid: gid)
        }
        // SHA-512 crypt, what authlib's userdb checks with crypt(3); the password goes in on stdin.
        let hash = try CommandRunner.check(openssl, ["passwd", "-6", "-stdin"], input: Array(mailbox.password.utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let line = "\(mailbox.username)\tuid=\(uid)|gid=\(gid)|home=\(home)|mail=\(maildir)|systempw=\(hash)\n"
        let file = "\(variables["MAILROOM_TEST_COURIER_USERDB"]!)/\(mailbox.username)"
        try dovecot.writeFile(file, bytes: Array(line.utf8), mode: 0o600, uid: uid, gid: gid)
        try CommandRunner.check(variables["MAILROOM_TEST_COURIER_MAKEUSERDB"]!, [])
    }

    func removeCourierUser(_ mailbox: TestMailbox) throws {
        let file = "\(variables["MAILROOM_TEST_COURIER_USERDB"]!)/\(mailbox.username)"
        if FileManager.default.fileExists(atPath: file) { try FileManager.default.removeItem(atPath: file) }
        try CommandRunner.check(variables["MAILROOM_TEST_COURIER_MAKEUSERDB"]!, [])
        let home = (courierMaildir(mailbox) as NSString).deletingLastPathComponent
        if FileManager.default.fileExists(atPath: home) { try FileManager.default.removeItem(atPath: home) }
    }
}
