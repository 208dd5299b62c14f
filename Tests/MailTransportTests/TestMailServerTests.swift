import Foundation
import MailCore
@testable import MailTesting
import Testing

/// The test mail server fixture itself: users it creates exist, mail it writes into a Maildir is indexed.
@Suite struct TestMailServerTests {
    static func message(_ n: Int, to address: String) -> [UInt8] {
        Array((
            "From: sender@example.org\r\nTo: \(address)\r\nSubject: fixture \(n)\r\n"
                + "Message-ID: <fixture-\(n)-\(UUID().uuidString)@example.org>\r\n\r\nBody \(n)\r\n"
        ).utf8)
    }

    @Test func deliveredMaildirMessagesAreVisibleToDovecot() throws {
        let server = try TestMailServer.fromEnvironment()
        let mailbox = try server.createMailbox(prefix: "Fixture")
        #expect(mailbox.address.hasPrefix("fixture-"))
        #expect(mailbox.address.hasSuffix("@\(TestMailServer.domain)"))

        try server.deliverToMaildir(mailbox, messages: (1...3).map { Self.message($0, to: mailbox.address) })

        let status = try server.doveadm(["mailbox", "status", "-u", mailbox.address, "messages", "INBOX"])
        #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "INBOX messages=3")
    }

    @Test func deliveryKeepsOrderInANewFolder() throws {
        let server = try TestMailServer.fromEnvironment()
        let mailbox = try server.createMailbox(prefix: "folder")
        let messages = (1...20).map { Self.message($0, to: mailbox.address) }

        try server.deliverToMaildir(mailbox, folder: "Archive/2024", messages: messages)
        try server.deliverToMaildir(mailbox, folder: "Archive/2024", messages: [Self.message(21, to: mailbox.address)])

        #expect(try server.messageCount(mailbox, folder: "Archive/2024") == 21)
        #expect(try server.messageCount(mailbox) == 0)
        // UIDs follow the order of the array.
        let subjects = try server.doveadm(["fetch", "-u", mailbox.address, "uid hdr.subject", "mailbox", "Archive/2024", "all"])
        // doveadm prints "uid: N" and "hdr.subject: S" lines, one record per message.
        let lines = subjects.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("uid: ") } == (1...21).map { "uid: \($0)" })
        #expect(lines.filter { $0.hasPrefix("hdr.subject: ") } == (1...21).map { "hdr.subject: fixture \($0)" })
    }

    @Test func uidValidityCanBeChanged() throws {
        let server = try TestMailServer.fromEnvironment()
        let mailbox = try server.createMailbox(prefix: "uidvalidity")
        try server.deliverToMaildir(mailbox, messages: [Self.message(1, to: mailbox.address)])

        try server.setUIDValidity(mailbox, to: UIDValidity(424242))

        let status = try server.mailboxStatus(mailbox, fields: ["uidvalidity", "messages"])
        #expect(status["uidvalidity"] == "424242")
        #expect(status["messages"] == "1")
    }

    @Test func postfixSubmissionLinesParse() {
        let user = "support-abc@test.local"
        let smtps = "Dec 01 04:47:43 mx postfix/smtps/smtpd[7934]: 265D3521AC6: client=unknown[127.0.0.1], sasl_method=LOGIN, sasl_username=\(user)"
        #expect(TestMailServer.submission(in: smtps[...], username: user) == PostfixSubmission(service: "smtps", mechanism: "LOGIN"))
        let submission = smtps.replacingOccurrences(of: "smtps/", with: "submission/").replacingOccurrences(of: "LOGIN", with: "PLAIN")
        #expect(TestMailServer.submission(in: submission[...], username: user) == PostfixSubmission(service: "submission", mechanism: "PLAIN"))
        // Another user whose address ends like this one's, and lines without SASL, are not this user's.
        #expect(TestMailServer.submission(in: smtps[...], username: "abc@test.local") == nil)
        #expect(TestMailServer.submission(in: "Dec 01 mx postfix/smtpd[1]: connect from unknown[127.0.0.1]", username: user) == nil)
    }
}
