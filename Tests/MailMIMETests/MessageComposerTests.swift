import Foundation
import Testing
@testable import MailMIME

@Suite struct MessageComposerTests {
    func sample() -> OutgoingMessage {
        var m = OutgoingMessage(from: MailAddress(name: "Zoë Support", address: "support@acme.test"),
                                subject: "Ünïcode subject – [#42]", date: Date(timeIntervalSince1970: 1_767_225_600),
                                messageID: "abc123@acme.test")
        m.to = [MailAddress(name: "Peter Gibbons", address: "peter@initech.test")]
        m.cc = [MailAddress(address: "bob@acme.test")]
        m.replyTo = [MailAddress(address: "help@acme.test")]
        m.inReplyTo = "parent@initech.test"
        m.references = ["root@initech.test", "parent@initech.test"]
        m.textBody = "Hello Peter,\n.\nA line with only a dot above.\nGrüße"
        m.htmlBody = "<p>Hello <b>Peter</b></p>"
        m.attachments = [.init(filename: "report ü.pdf", contentType: "application/pdf", data: Array((0..<3000).map { UInt8($0 % 256) }))]
        return m
    }

    @Test func roundTripsThroughTheParser() throws {
        let bytes = try MessageComposer.compose(sample())
        let parsed = try MIMEParser.parse(bytes)
        #expect(parsed.messageID == "abc123@acme.test")
        #expect(parsed.subject == "Ünïcode subject – [#42]")
        #expect(parsed.from == [MailAddress(name: "Zoë Support", address: "support@acme.test")])
        #expect(parsed.to.map(\.address) == ["peter@initech.test"])
        #expect(parsed.cc.map(\.address) == ["bob@acme.test"])
        #expect(parsed.replyTo.map(\.address) == ["help@acme.test"])
        #expect(parsed.inReplyTo == ["parent@initech.test"])
        #expect(parsed.references == ["root@initech.test", "parent@initech.test"])
        #expect(parsed.date == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(parsed.textBody?.replacingOccurrences(of: "\r\n", with: "\n") == "Hello Peter,\n.\nA line with only a dot above.\nGrüße")
        #expect(parsed.htmlBody == "<p>Hello <b>Peter</b></p>")
        #expect(parsed.attachments.count == 1)
        #expect(parsed.attachments.first?.filename == "report ü.pdf")
        #expect(parsed.attachments.first?.data == Array((0..<3000).map { UInt8($0 % 256) }))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("Content-Type: multipart/mixed") && text.contains("Content-Type: multipart/alternative"))
        #expect(parsed.problems.isEmpty)
    }

    @Test(arguments: [
        ("no breaks", "no breaks"), ("a\r\nb", "a\nb"), ("a\rb", "a\nb"), ("a\nb", "a\nb"), ("a\r\r\nb", "a\n\nb"),
        ("\r", "\n"), ("übersicht\r\n€\r", "übersicht\n€\n"), ("\n\r", "\n\n"),
    ])
    func lineEndsBecomeLF(input: String, expected: String) {
        #expect(MessageComposer.normalizedLineEnds(input) == expected)
    }

    @Test func writesCRLFAnd7BitHeaders() throws {
        let bytes = try MessageComposer.compose(sample())
        // Every LF is preceded by CR (libcurl dot-stuffs only CRLF input).
        for (i, b) in bytes.enumerated() where b == 10 { #expect(i > 0 && bytes[i - 1] == 13) }
        let head = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n\r\n")[0]
        let ascii = head.unicodeScalars.allSatisfy { $0.isASCII }
        #expect(ascii, "non-ASCII header text must be RFC 2047 encoded")
        #expect(head.contains("=?"))
        #expect(!head.contains("Bcc"))
    }

    @Test func autoReplyHeaders() throws {
        var m = sample()
        m.autoSubmitted = "auto-replied"
        m.suppressAutoResponses = true
        m.extraHeaders = [HeaderField(name: "X-Loop", value: "support@acme.test")]
        let parsed = try MIMEParser.parse(try MessageComposer.compose(m))
        #expect(parsed.header("Auto-Submitted") == "auto-replied")
        #expect(parsed.header("X-Auto-Response-Suppress") == "All")
        #expect(parsed.header("X-Loop") == "support@acme.test")
    }

    @Test func textOnlyIsASinglePart() throws {
        var m = sample()
        m.htmlBody = nil
        m.attachments = []
        let bytes = try MessageComposer.compose(m)
        let parsed = try MIMEParser.parse(bytes)
        #expect(String(decoding: bytes, as: UTF8.self).contains("Content-Type: text/plain"))
        #expect(!String(decoding: bytes, as: UTF8.self).contains("multipart"))
        #expect(parsed.attachments.isEmpty)
    }

    @Test(arguments: ["Hi\r\nBcc: victim@example.com", "Hi\nX-Injected: 1", "Hi\rthere"])
    func refusesLineBreaksInHeaders(_ subject: String) {
        var m = sample()
        m.subject = subject
        #expect(throws: MIMEError.self) { try MessageComposer.compose(m) }
        var n = sample()
        n.to = [MailAddress(name: subject, address: "peter@initech.test")]
        #expect(throws: MIMEError.self) { try MessageComposer.compose(n) }
    }
}
