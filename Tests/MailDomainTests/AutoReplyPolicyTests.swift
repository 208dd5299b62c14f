import Foundation
import Testing
@testable import MailDomain

@Suite struct AutoReplyPolicyTests {
    let pattern = "^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+.-].*)?@"
    let ours: Set<String> = ["support@acme.test", "sales@acme.test"]

    func refusal(_ headers: [(String, String)], sender: String? = "peter@initech.test") -> AutoReplyPolicy.Refusal? {
        AutoReplyPolicy.refusal(.init(headers: headers.map { (name: $0.0, value: $0.1) }, sender: sender),
                                ourAddresses: ours, noReplyPattern: pattern)
    }

    @Test func plainCustomerMailIsAnswered() {
        #expect(refusal([("Subject", "Help"), ("Auto-Submitted", "no")]) == nil)
    }

    @Test(arguments: [
        ([("Auto-Submitted", "auto-replied")], AutoReplyPolicy.Refusal.autoSubmitted),
        ([("auto-submitted", "auto-generated; owner=x")], .autoSubmitted),
        ([("X-Auto-Response-Suppress", "DR, AutoReply")], .suppressed),
        ([("X-Auto-Response-Suppress", "All")], .suppressed),
        ([("Precedence", "bulk")], .bulkPrecedence),
        ([("Precedence", "list")], .bulkPrecedence),
        ([("Precedence", "junk")], .bulkPrecedence),
        ([("List-Id", "<news.example.com>")], .mailingList),
        ([("List-Unsubscribe", "<mailto:u@example.com>")], .mailingList),
        ([("X-Loop", "support@acme.test")], .loop),
        ([("Content-Type", "multipart/report; report-type=delivery-status")], .deliveryReport),
        ([("Return-Path", "<>")], .nullSender),
        ([("X-Autoreply", "yes")], .autoReplyHeader),
        ([("X-Autorespond", "1")], .autoReplyHeader),
    ] as [([(String, String)], AutoReplyPolicy.Refusal)])
    func refusesAutomaticMail(_ headers: [(String, String)], _ expected: AutoReplyPolicy.Refusal) {
        #expect(refusal(headers) == expected)
    }

    @Test func suppressOtherValuesAreAllowed() {
        #expect(refusal([("X-Auto-Response-Suppress", "DR, RN")]) == nil)
        #expect(refusal([("X-Loop", "someone-else@example.com")]) == nil)
    }

    @Test(arguments: ["noreply@example.com", "no-reply+x@example.com", "do-not-reply@example.com", "bounces@example.com"])
    func refusesNoReplySenders(_ sender: String) {
        #expect(refusal([], sender: sender) == .noReplyAddress)
    }

    @Test(arguments: ["MAILER-DAEMON@example.com", "postmaster@example.com"])
    func refusesDaemonSenders(_ sender: String) {
        #expect(refusal([], sender: sender) == .daemonSender)
    }

    /// One definition of automatic mail: whatever keeps a message from opening a case also keeps it
    /// from being answered (an `X-Autoreply` message once got an answer from accounts without cases).
    @Test(arguments: [
        [("Auto-Submitted", "auto-replied")], [("X-Autoreply", "yes")], [("x-autorespond", "true")],
        [("Content-Type", "multipart/report; report-type=disposition-notification")], [("Return-Path", "<>")],
        [("Auto-Submitted", "no"), ("X-Autoreply", "1")],
    ] as [[(String, String)]])
    func automaticMailIsNeverAnswered(_ headers: [(String, String)]) {
        let fields = headers.map { (name: $0.0, value: $0.1) }
        #expect(AutomaticMail.isAutomatic(headers: fields, from: "peter@initech.test"))
        #expect(refusal(headers) != nil)
    }

    @Test func refusesOurOwnAddressesAndMissingSenders() {
        #expect(refusal([], sender: "Support@Acme.test") == .monitoredAddress)
        #expect(refusal([], sender: nil) == .noSender)
        #expect(refusal([], sender: "") == .noSender)
    }
}

@Suite struct AutoReplyTemplateTests {
    let values = AutoReplyTemplate.Values(subject: "Printer on fire", caseNumber: 42, caseName: "Printer", fromName: "Peter",
                                          fromAddress: "peter@initech.test")

    @Test func rendersEveryPlaceholder() {
        let t = AutoReplyTemplate("Re: {{subject}} [#{{case.number}}] {{ case.name }} for {{from.name}} <{{from.address}}>")
        #expect(t.render(values) == "Re: Printer on fire [#42] Printer for Peter <peter@initech.test>")
    }

    @Test func missingValuesRenderEmptyUnknownStay() {
        let v = AutoReplyTemplate.Values(subject: nil, fromName: nil, fromAddress: "a@b.test")
        #expect(AutoReplyTemplate("[{{subject}}] {{case.number}} {{nope}} {{unclosed").render(v) == "[]  {{nope}} {{unclosed")
    }

    @Test func valuesAreNotReexpanded() {
        let v = AutoReplyTemplate.Values(subject: "{{from.address}}", fromName: nil, fromAddress: "a@b.test")
        #expect(AutoReplyTemplate("{{subject}}").render(v) == "{{from.address}}")
    }

    @Test func subjectLineHasNoBreaks() {
        let v = AutoReplyTemplate.Values(subject: "a\r\nBcc: x@y.test", fromName: nil, fromAddress: nil)
        let line = AutoReplyTemplate("Re: {{subject}}").renderLine(v)
        #expect(!line.contains("\r") && !line.contains("\n"))
    }
}

@Suite struct SMTPAlertPolicyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func alertsAtMostOnceADay() {
        #expect(SMTPAlertPolicy.shouldAlert(isAccountFailure: true, lastAlertedAt: nil, now: now))
        #expect(!SMTPAlertPolicy.shouldAlert(isAccountFailure: true, lastAlertedAt: now.addingTimeInterval(-3600), now: now))
        #expect(!SMTPAlertPolicy.shouldAlert(isAccountFailure: true, lastAlertedAt: now.addingTimeInterval(-86_399), now: now))
        #expect(SMTPAlertPolicy.shouldAlert(isAccountFailure: true, lastAlertedAt: now.addingTimeInterval(-86_400), now: now))
    }

    @Test func recipientRefusalsAreNotAccountAlerts() {
        #expect(!SMTPAlertPolicy.shouldAlert(isAccountFailure: false, lastAlertedAt: nil, now: now))
    }
}
