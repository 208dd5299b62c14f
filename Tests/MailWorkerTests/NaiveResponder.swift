import Foundation
import MailCore
import MailMIME
import MailProtocol
import MailTesting
import MailTransport

/// A careless machine on the other end of a mail loop: it answers every message that reaches its
/// mailbox, whoever sent it, and ignores every sign of automatic mail (`Auto-Submitted`, `X-Loop`,
/// `Precedence`, `X-Auto-Response-Suppress`). It polls its Dovecot mailbox over IMAP and submits its
/// answers through the test Postfix as plain mail: no automatic header at all, and, like a ticket
/// system that opens a ticket of its own for each mail, no In-Reply-To or References either (an answer
/// that named our Message-ID would join the case that sent it and never loop).
final class NaiveResponder: @unchecked Sendable {
    let server: TestMailServer
    let mailbox: TestMailbox
    /// The highest UID answered so far; only `poll` moves it (the tests call it from one task).
    private(set) var lastUID: UID?
    /// Answers submitted, by recipient address (lower-cased).
    private(set) var answered: [String: Int] = [:]

    init(server: TestMailServer, mailbox: TestMailbox) {
        self.server = server
        self.mailbox = mailbox
    }

    /// Answers every message that arrived since the last poll; returns how many it answered.
    @discardableResult
    func poll() throws -> Int {
        let imap = try IMAPSession(endpoint: server.endpoint(for: mailbox))
        defer { imap.disconnect() }
        let uids = try imap.searchUIDs("INBOX", after: lastUID)
        guard !uids.isEmpty else { return 0 }
        let smtp = try SMTPSession(endpoint: SMTPEndpoint(
            host: server.host, port: server.submissionPort, security: .starttls, verifyTLS: false, authentication: .plain,
            username: mailbox.username, password: mailbox.secret, heloName: "naive.test", policy: server.outboundPolicy))
        var count = 0
        for uid in uids.sorted(by: { $0.rawValue < $1.rawValue }) {
            let message = try MIMEParser.parse(try imap.fetchMessage("INBOX", uid: uid))
            if let sender = message.from.first?.address.lowercased() {
                try smtp.send(from: mailbox.address, recipients: [sender], message: answer(to: sender, subject: message.subject))
                answered[sender, default: 0] += 1
                count += 1
            }
            lastUID = uid
        }
        return count
    }

    private func answer(to sender: String, subject: String?) -> [UInt8] {
        TestMessages.crlf("""
            From: Naive Ticket System <\(mailbox.address)>
            To: \(sender)
            Subject: Re: \(subject ?? "")
            Date: \(Self.date())
            Message-ID: <naive-\(UUID().uuidString)@naive.test>

            Thank you, your message has been received.
            """)
    }

    private static func date() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f.string(from: Date())
    }
}
