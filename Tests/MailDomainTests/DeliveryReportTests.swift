import Foundation
import MailDomain
import Testing

@Suite struct DeliveryReportTests {
    static func input(headers: [(name: String, value: String)] = [], from: String? = "MAILER-DAEMON@mx.test", subject: String? = nil,
                      text: String? = nil, parts: [(contentType: String, data: [UInt8])] = []) -> DeliveryReportInput {
        DeliveryReportInput(headers: headers, from: from, subject: subject, text: text, parts: parts)
    }

    static let reportType = ("Content-Type", "multipart/report; report-type=delivery-status; boundary=b")

    /// Status lines with CRLF ends, as IMAP delivers them.
    @Test func readsPerRecipientBlocksOfAStatusPart() throws {
        let status = """
            Reporting-MTA: dns; mx.test
            Arrival-Date: Mon, 7 Dec 2026 09:15:00 +0100

            Final-Recipient: rfc822; alias-target@internal.test
            Original-Recipient: rfc822;<Sales@Example.test>
            Action: failed
            Status: 5.1.1 (user unknown)
            Diagnostic-Code: smtp; 550 5.1.1 <alias-target@internal.test>:
              Recipient address rejected

            Final-Recipient: rfc822; slow@example.test
            Action: delayed
            Status: 4.4.1

            Final-Recipient: rfc822; ok@example.test
            Action: relayed
            Status: 2.0.0

            Final-Recipient: x400; c=us;a=;p=x
            Action: failed
            """
        let returned = Array("Received: x\r\nMessage-ID:\r\n  <orig@acme.test>\r\nSubject: s\r\n\r\nMessage-ID: <body@acme.test>\r\n".utf8)
        let report = try #require(DeliveryReport.recognize(Self.input(
            headers: [Self.reportType, ("In-Reply-To", "<reply@acme.test>"), ("References", "<a@acme.test> <b@acme.test>"),
                      ("Message-ID", "<own@mx.test>")],
            text: "See below.\nMessage-ID: <own@mx.test>\n> Message-Id: <quoted@acme.test>\n",
            parts: [("message/delivery-status", Array(status.replacingOccurrences(of: "\n", with: "\r\n").utf8)),
                    ("message/rfc822", returned)])))
        #expect(report.format == "rfc3464")
        #expect(report.originalMessageIDs == ["orig@acme.test", "reply@acme.test", "b@acme.test", "a@acme.test", "quoted@acme.test"])
        #expect(report.recipients == [
            .init(address: "sales@example.test", action: .failed, status: "5.1.1",
                  diagnostic: "550 5.1.1 <alias-target@internal.test>: Recipient address rejected", severity: .hard),
            .init(address: "slow@example.test", action: .delayed, status: "4.4.1", diagnostic: nil, severity: .soft),
            .init(address: "ok@example.test", action: .relayed, status: "2.0.0", diagnostic: nil, severity: nil),
        ])
        #expect(report.failures.map(\.address) == ["sales@example.test"])
    }

    @Test(arguments: [
        (DeliveryReport.Action.failed, "5.1.1", "550 5.1.1 user unknown", DeliveryReport.Severity.hard),
        (.failed, "5.2.2", "552 5.2.2 Mailbox full", .soft),
        (.failed, nil, "552 Mailbox full", .soft),
        (.failed, "4.4.1", "connection timed out", .soft),
        (.failed, nil, "450 greylisted, try again later", .soft),
        (.failed, "5.7.1", "Over quota? no: rejected by policy", .soft),
        (.failed, nil, "No such domain", .hard),
        (.failed, nil, "554 delivery error: dd This user doesn't have an account", .hard),
        (.failed, nil, "421 too many connections", .soft),
        (.failed, nil, nil, .hard),
        (.delayed, "5.1.1", nil, .soft),
    ] as [(DeliveryReport.Action, String?, String?, DeliveryReport.Severity)])
    func classifies(_ action: DeliveryReport.Action, _ status: String?, _ diagnostic: String?, _ expected: DeliveryReport.Severity) {
        #expect(DeliveryReport.Severity.classify(action: action, status: status, diagnostic: diagnostic) == expected)
    }

    @Test func successesHaveNoSeverity() {
        for action in [DeliveryReport.Action.delivered, .relayed, .expanded] {
            #expect(DeliveryReport.Severity.classify(action: action, status: "5.1.1", diagnostic: "user unknown") == nil)
        }
    }

    @Test func readsAPlainTextBounceFromADaemon() throws {
        let text = """
            Hi. This is the qmail-send program at mx.example.test.
            I'm afraid I wasn't able to deliver your message to the following addresses.
            This is a permanent error; I've given up. Sorry it didn't work out.

            <Bert@Example.test>:
            Sorry, no mailbox here by that name. (#5.1.1)

            --- Below this line is a copy of the message.

            From: support@acme.test
            To: other@example.test
            Message-ID: <mr1.case.1.ab@acme.test>
            """
        let report = try #require(DeliveryReport.recognize(Self.input(headers: [("To", "support@acme.test")], text: text)))
        #expect(report.format == "qmail")
        #expect(report.originalMessageIDs == ["mr1.case.1.ab@acme.test"])
        #expect(report.recipients == [.init(address: "bert@example.test", action: .failed, status: "5.1.1",
                                            diagnostic: "Sorry, no mailbox here by that name. (#5.1.1)", severity: .hard)])
    }

    @Test func diagnosticsAreBoundedAndOnOneLine() throws {
        let long = String(repeating: "word ", count: 400)
        let status = "Reporting-MTA: dns; mx.test\n\nFinal-Recipient: rfc822; a@b.test\nAction: failed\nDiagnostic-Code: smtp; 550\n  \(long)\n"
        let report = try #require(DeliveryReport.recognize(Self.input(headers: [Self.reportType],
                                                                       parts: [("message/delivery-status", Array(status.utf8))])))
        let diagnostic = try #require(report.recipients.first?.diagnostic)
        #expect(diagnostic.count == DeliveryReport.maxDiagnosticLength && !diagnostic.contains("\n") && !diagnostic.contains("  "))
    }

    @Test func ordinaryMailIsNotReadAsAReport() {
        let bounceText = "This is the mail system at host mx.test.\n\n<a@b.test>: host said: 550 5.1.1 user unknown\n"
        // A person quoting a bounce, with a bounce-like subject: no automatic sender, so the text is not read.
        #expect(DeliveryReport.recognize(Self.input(headers: [("Subject", "Fwd: Undelivered Mail")], from: "person@example.test",
                                                    subject: "Fwd: Undelivered Mail", text: bounceText)) == nil)
        // A forwarded report: its status part stays inside the returned message.
        let forwarded = Array("Content-Type: multipart/report; report-type=delivery-status\n\n".utf8)
        #expect(DeliveryReport.recognize(Self.input(from: "person@example.test", parts: [("message/rfc822", forwarded)])) == nil)
        // A daemon's mail in no known form and without X-Failed-Recipients.
        #expect(DeliveryReport.recognize(Self.input(text: "Your mailbox will be migrated tonight.")) == nil)
        // A read receipt is a report, but not of delivery.
        #expect(DeliveryReport.recognize(Self.input(
            headers: [("Content-Type", "multipart/report; report-type=disposition-notification; boundary=x")],
            from: "reader@example.test", text: "Your message was read.")) == nil)
    }

    /// Imported mail carries no Content-Type among its headers (GMime keeps it on the body part): the
    /// status leaf alone makes it a report.
    @Test func aStatusPartAloneMakesAReport() throws {
        let status = Array("Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b.test\nAction: failed\nStatus: 5.1.1\n".utf8)
        let input = Self.input(from: "reports@relay.test", parts: [("message/delivery-status", status)])
        #expect(DeliveryReport.recognize(input)?.recipients.map(\.address) == ["a@b.test"])
        #expect(AutomaticMail.reason(headers: input.headers, from: input.from) == nil)
        #expect(AutomaticMail.reason(input) == .deliveryReport)
        // The form for mail the recognizer already turned down still sees the part, and recognizes nothing.
        #expect(AutomaticMail.reason(notAReport: input) == .deliveryReport)
        let plain = Self.input(from: "person@example.test", parts: [])
        #expect(AutomaticMail.reason(notAReport: plain) == nil && AutomaticMail.reason(plain) == nil)
    }

    @Test func failedRecipientsHeaderAloneNamesTheRecipients() throws {
        let report = try #require(DeliveryReport.recognize(Self.input(
            headers: [("X-Failed-Recipients", "One@Example.test, two@example.test")], from: "system@hosting.test",
            text: "Could not deliver.\n\nThe server said: 550 5.1.1 No such user\n")))
        #expect(report.format == "x-failed-recipients")
        #expect(report.recipients.map(\.address) == ["one@example.test", "two@example.test"])
        #expect(report.recipients.allSatisfy { $0.status == "5.1.1" && $0.severity == .hard })
    }
}

@Suite struct AutomaticMailBreadthTests {
    @Test(arguments: [
        ([("X-Autogenerated", "Reply")], AutomaticMail.Reason.autoReplyHeader),
        ([("X-AutoReply-From", "a@b.test")], .autoReplyHeader),
        ([("X-Mail-Autoreply", "yes")], .autoReplyHeader),
        ([("X-Autoresponder", "true")], .autoReplyHeader),
        ([("X-FC-MachineGenerated", "true")], .autoReplyHeader),
        ([("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent")], .exchangeGenerated),
        ([("X-MS-Exchange-Inbox-Rules-Loop", "a@b.test")], .exchangeGenerated),
        ([("Precedence", "auto_reply")], .precedence),
        ([("Precedence", " Junk ")], .precedence),
        ([("X-Failed-Recipients", "a@b.test")], .deliveryReport),
        ([("Subject", "Automatic reply: Re: order")], .automaticSubject),
        ([("Subject", "Automatische Antwort: Ihre Anfrage")], .automaticSubject),
        ([("Subject", "Réponse automatique : Votre commande")], .automaticSubject),
        ([("Subject", "Respuesta automática: Su pedido")], .automaticSubject),
        ([("Subject", "Out of Office: Re: order"), ("Precedence", "bulk")], .automaticSubject),
        ([("X-Auto-Response-Suppress", "All"), ("Subject", "Abwesenheitsnotiz: Re: Bestellung")], .automaticSubject),
    ] as [([(String, String)], AutomaticMail.Reason)])
    func recognises(_ headers: [(String, String)], _ expected: AutomaticMail.Reason) {
        #expect(AutomaticMail.reason(headers: headers.map { (name: $0.0, value: $0.1) }, from: "person@example.test") == expected)
    }

    @Test(arguments: [
        [("Subject", "Out of office")],
        [("Subject", "Out of office?")],
        [("Subject", "Abwesenheitsnotiz")],
        [("Subject", "Automatic reply not working")],
        [("Subject", "Re: Automatic reply: order")],
        [("Subject", "Out of office furniture: 20% off"), ("Precedence", "bulk")],
        [("Subject", "Vacation request"), ("X-Auto-Response-Suppress", "OOF")],
        [("Precedence", "bulk"), ("List-Unsubscribe", "<mailto:u@list.test>")],
        [("Precedence", "list")],
        [("X-Autogenerated", "no")],
    ] as [[(String, String)]])
    func leavesPeopleAlone(_ headers: [(String, String)]) {
        #expect(AutomaticMail.reason(headers: headers.map { (name: $0.0, value: $0.1) }, from: "person@example.test") == nil)
    }

    @Test func bodyBouncesCountThroughTheInputForm() {
        let input = DeliveryReportInput(headers: [("Subject", "failure notice")], from: "person@example.test", subject: "failure notice",
                                        text: "Hi. This is the qmail-send program", parts: [])
        #expect(AutomaticMail.reason(input) == nil)
        let fromDaemon = DeliveryReportInput(headers: [], from: "mailer-daemon@mx.test", subject: nil, text: nil, parts: [])
        #expect(AutomaticMail.reason(fromDaemon) == .daemonSender)
    }
}
