import Foundation
import MailTesting
import Synchronization

/// Delivers mail continuously to the run's mailboxes and remembers every Message-ID it handed over.
///
/// Most mail is written straight into the Maildir (`TestMailServer.deliverToMaildir`); about one in ten
/// goes through Postfix's MX with the curl CLI, like real inbound mail. One in ten of the first tenant's
/// messages goes to both of its mailboxes: one email, linked to two accounts. A delivery that failed part
/// way (Dovecot restarting) is "uncertain": the final check looks for it in the Maildir itself.
final class MailFeeder: Sendable {
    struct Counts: Sendable {
        var maildir = 0, smtp = 0, smtpRefused = 0, uncertain = 0, bytes = 0
    }

    private struct State {
        /// Message-IDs (without brackets) accepted per mailbox address.
        var accepted: [String: Set<String>] = [:]
        var uncertain: [String: Set<String>] = [:]
        var counts = Counts()
    }

    let server: TestMailServer
    let accounts: [ChaosAccount]
    let postfix: PostfixQueue
    private let state = Mutex(State())
    private let sequence = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let runToken = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    init(server: TestMailServer, accounts: [ChaosAccount], postfix: PostfixQueue) {
        self.server = server
        self.accounts = accounts
        self.postfix = postfix
    }

    var counts: Counts { state.withLock { $0.counts } }
    func accepted(_ address: String) -> Set<String> { state.withLock { $0.accepted[address] ?? [] } }
    func uncertain(_ address: String) -> Set<String> { state.withLock { $0.uncertain[address] ?? [] } }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// Delivers until `stop()`, one message every 50–200 ms. Blocking: run it on a thread of its own.
    func run() {
        while !stopped.load(ordering: .relaxed) {
            deliverOne()
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.2))
        }
    }

    private func deliverOne() {
        let n = sequence.wrappingAdd(1, ordering: .relaxed).newValue
        let messageID = "chaos-\(runToken)-\(n)@chaos.test"
        var targets = [accounts.randomElement()!]
        let siblings = accounts.filter { $0.tenantSlug == targets[0].tenantSlug && $0 != targets[0] }
        if let other = siblings.randomElement(), Int.random(in: 0..<10) == 0 { targets.append(other) }
        let raw = MessageFactory.message(id: messageID, number: n, to: targets.map(\.mailbox.address))
        state.withLock { $0.counts.bytes += raw.count }
        if Int.random(in: 0..<10) == 0 {
            deliverBySMTP(raw, id: messageID, to: targets)
        } else {
            for t in targets { deliverToMaildir(raw, id: messageID, to: t) }
        }
    }

    private func deliverToMaildir(_ raw: [UInt8], id: String, to account: ChaosAccount) {
        let address = account.mailbox.address
        do {
            try server.deliverToMaildir(account.mailbox, messages: [raw])
            state.withLock { $0.accepted[address, default: []].insert(id); $0.counts.maildir += 1 }
        } catch {
            // The file may be in new/ already (only the index update failed): the Maildir decides later.
            state.withLock { $0.uncertain[address, default: []].insert(id); $0.counts.uncertain += 1 }
        }
    }

    /// SMTP to the MX: once Postfix answers 250 the message is Postfix's to deliver (RFC 5321 §6.1).
    private func deliverBySMTP(_ raw: [UInt8], id: String, to targets: [ChaosAccount]) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("chaos-\(UUID().uuidString).eml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        guard FileManager.default.createFile(atPath: file, contents: Data(raw)), let curl = CommandRunner.locate("curl") else {
            state.withLock { $0.counts.smtpRefused += 1 }
            return
        }
        var args = ["-sS", "--max-time", "30", "smtp://\(server.host):\(server.mxPort)", "--mail-from", "sender@chaos.test"]
        for t in targets { args += ["--mail-rcpt", t.mailbox.address] }
        args += ["-T", file]
        let ok = (try? CommandRunner.run(curl, args).status) == 0
        state.withLock { s in
            if ok {
                for t in targets { s.accepted[t.mailbox.address, default: []].insert(id) }
                s.counts.smtp += 1
            } else {
                s.counts.smtpRefused += 1
            }
        }
    }
}

/// Builds the run's messages: mostly small text, some tens of kilobytes, a few with a large attachment.
enum MessageFactory {
    static func message(id: String, number: Int, to: [String]) -> [UInt8] {
        let roll = Int.random(in: 0..<100)
        var lines = [
            "From: Chaos Sender <sender@chaos.test>",
            "To: \(to.joined(separator: ", "))",
            "Subject: chaos message \(number)",
            "Date: \(rfc5322Date(Date()))",
            "Message-ID: <\(id)>",
            "MIME-Version: 1.0",
        ]
        if roll < 95 {
            let paragraphs = roll < 70 ? Int.random(in: 1...8) : Int.random(in: 200...1000)
            lines += ["Content-Type: text/plain; charset=utf-8", "", "Message \(number)."]
            for p in 0..<paragraphs { lines.append("Paragraph \(p): the quick brown fox jumps over the lazy dog, \(p) times.") }
        } else {
            let boundary = "chaos-\(number)-boundary"
            let blob = (0..<Int.random(in: 200_000...600_000)).map { _ in UInt8.random(in: 0...255) }
            let encoded = Data(blob).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn])
            lines += ["Content-Type: multipart/mixed; boundary=\"\(boundary)\"", "",
                      "--\(boundary)", "Content-Type: text/plain; charset=utf-8", "", "Message \(number) with an attachment.",
                      "--\(boundary)", "Content-Type: application/octet-stream; name=\"blob-\(number).bin\"",
                      "Content-Disposition: attachment; filename=\"blob-\(number).bin\"", "Content-Transfer-Encoding: base64", "",
                      encoded.replacingOccurrences(of: "\r", with: ""), "--\(boundary)--"]
        }
        // SMTP and Maildir both take CRLF line ends (RFC 5322 §2.1).
        return Array((lines.joined(separator: "\r\n").replacingOccurrences(of: "\n", with: "\r\n")
            .replacingOccurrences(of: "\r\r\n", with: "\r\n") + "\r\n").utf8)
    }

    static func rfc5322Date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f.string(from: date)
    }
}
