import Foundation
import MailDomain
import MailMIME
import MailStore
import MailTesting
import MailTransport
import Testing
@testable import MailWorker

/// The delivery-report corpus (`Fixtures/DeliveryReports`), read the way the importer reads mail: GMime
/// parsing, `MessageMapper`, then `DeliveryReportInput(email)` and the recognisers. `reports.tsv` says for
/// each report the outbound Message-ID, recipient, action and class it must give; `mail.tsv` lists the
/// automatic replies and the ordinary mail beside them.
@Suite struct DeliveryReportCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/DeliveryReports")

    /// The tab-separated rows of a corpus table, comment lines skipped.
    static func rows(_ table: String) throws -> [[String]] {
        try String(contentsOf: root.appendingPathComponent(table), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: "\t").map(String.init) }
    }

    static func email(_ raw: [UInt8]) throws -> NewEmail {
        MessageMapper.newEmail(from: try MIMEParser.parse(raw), raw: raw, realSize: raw.count, internalDate: nil, headerOnlyNote: nil)
    }

    static func email(file: String) throws -> NewEmail {
        try email([UInt8](try Data(contentsOf: root.appendingPathComponent(file))))
    }

    /// Whether `report` ties to `row`'s outbound email (first candidate), recipient, action and class.
    static func matches(_ report: DeliveryReport, _ row: [String]) -> Bool {
        guard report.originalMessageIDs.first == row[2], let recipient = report.recipients.first(where: { $0.address == row[3] })
        else { return false }
        return recipient.action.rawValue == row[4] && (recipient.severity?.rawValue ?? "none") == row[5]
    }

    @Test func reportsTieToTheOutboundEmailRecipientAndClass() throws {
        let rows = try Self.rows("reports.tsv")
        #expect(rows.count >= 30)
        var right = 0
        var formats: [String: Int] = [:]
        for row in rows {
            let email = try Self.email(file: row[0])
            let input = DeliveryReportInput(email)
            #expect(AutomaticMail.reason(input) != nil, "\(row[0]) must count as automatic")
            guard let report = DeliveryReport.recognize(input) else {
                Issue.record("\(row[0]): not recognised as a delivery report")
                continue
            }
            formats[report.format, default: 0] += 1
            if Self.matches(report, row) {
                right += 1
            } else {
                print("delivery-report corpus: \(row[0]) gave ids \(report.originalMessageIDs) recipients \(report.recipients)")
            }
        }
        let share = Double(right) / Double(rows.count)
        print("delivery-report corpus: \(right) of \(rows.count) reports tied to the right email, recipient, action and class "
            + "(\(Int((share * 100).rounded())) %); formats \(formats.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        #expect(share >= 0.95)
    }

    @Test func automaticRepliesAreAutomaticAndHumanMailIsNeither() throws {
        let rows = try Self.rows("mail.tsv")
        var automatic = (total: 0, recognised: 0)
        var human = (total: 0, taken: 0)
        for row in rows {
            let email = try Self.email(file: row[0])
            let input = DeliveryReportInput(email)
            let reason = AutomaticMail.reason(input)
            let report = DeliveryReport.recognize(input)
            #expect(report == nil, "\(row[0]) is not a delivery report")
            if row[1] == "automatic" {
                automatic.total += 1
                if reason != nil { automatic.recognised += 1 } else { Issue.record("\(row[0]): not recognised as automatic") }
            } else {
                human.total += 1
                if reason != nil || report != nil {
                    human.taken += 1
                    Issue.record("\(row[0]): human mail taken for automatic (\(String(describing: reason)))")
                }
            }
        }
        print("delivery-report corpus: \(automatic.recognised) of \(automatic.total) automatic replies recognised; "
            + "\(human.taken) of \(human.total) human mails taken for automatic or reports")
        #expect(automatic.total >= 15 && human.total >= 15)
    }

    /// GMime hands the report's parts over as the recogniser expects them: the delivery status as a leaf,
    /// the returned message whole.
    @Test func reportPartsArriveAsAttachments() throws {
        let email = try Self.email(file: "reports/postfix-live-two-recipients.eml")
        #expect(email.attachments.map(\.contentType) == ["message/delivery-status", "message/rfc822"])
        #expect(email.bodyText?.contains("This is the mail system at host") == true)
        let report = try #require(DeliveryReport.recognize(DeliveryReportInput(email)))
        #expect(report.recipients.map(\.address) == ["ghost.a@test.local", "ghost.b@test.local"])
        #expect(report.recipients.allSatisfy { $0.status == "5.1.1" && $0.severity == .hard && $0.isFailure })
        #expect(report.recipients.first?.diagnostic == "550 5.1.1 <ghost.a@test.local> User doesn't exist: ghost.a@test.local")

        let headersOnly = try Self.email(file: "reports/postfix-delayed.eml")
        #expect(headersOnly.attachments.map(\.contentType) == ["message/delivery-status", "text/rfc822-headers"])
    }

    /// A bounce made now by the real Postfix: mail to an unknown user comes back to the sender's mailbox.
    @Test func liveBounceFromPostfix() async throws {
        let server = try TestMailServer.fromEnvironment()
        let sender = try server.createMailbox(prefix: "bounce-sender")
        defer { try? server.removeMailbox(sender) }
        try server.createFolder(sender, folder: "INBOX")
        let unknown = "nobody-\(UUID().uuidString.prefix(8).lowercased())@\(TestMailServer.domain)"
        let messageID = "mr1.case.1.\(UUID().uuidString.lowercased())@\(TestMailServer.domain)"
        let message = Array(("From: <\(sender.address)>\r\nTo: <\(unknown)>\r\nSubject: Re: [#1] Your order\r\n"
            + "Message-ID: <\(messageID)>\r\n\r\nHello.\r\n").utf8)
        let connection = try await SMTPConnection(endpoint: SMTPEndpoint(
            host: server.host, port: server.submissionPort, security: .starttls, verifyTLS: false,
            authentication: .plain, username: sender.address, password: sender.secret, heloName: "test.local",
            policy: server.outboundPolicy))
        defer { connection.close() }
        try await connection.send(from: sender.address, recipients: [unknown], message: message)

        #expect(try await Eventually.until(timeout: .seconds(30), interval: .milliseconds(50)) { try server.messageCount(sender) == 1 })
        let folder = try server.doveadm(["mailbox", "path", "-u", sender.address, "INBOX"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let file = try #require(["new", "cur"].flatMap { sub in
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(folder)/\(sub)")) ?? []).map { "\(folder)/\(sub)/\($0)" }
        }.first)
        let email = try Self.email([UInt8](try Data(contentsOf: URL(fileURLWithPath: file))))
        let report = try #require(DeliveryReport.recognize(DeliveryReportInput(email)))
        #expect(report.format == "rfc3464")
        #expect(report.originalMessageIDs.first == messageID)
        #expect(report.recipients == [DeliveryReport.Recipient(
            address: unknown, action: .failed, status: "5.1.1",
            diagnostic: "550 5.1.1 <\(unknown)> User doesn't exist: \(unknown)", severity: .hard)])
    }
}
