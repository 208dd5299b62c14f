import Foundation
import Testing
@testable import MailMIME

/// One hand-written message and what parsing it must yield.
struct MessageCase: Sendable, CustomTestStringConvertible {
    let name: String
    let raw: [UInt8]
    let check: @Sendable (ParsedMessage) -> Void
    var testDescription: String { name }
}

private func subjectCase(_ name: String, _ encoded: String, _ expected: String) -> MessageCase {
    MessageCase(name: name, raw: wire("From: a@example.com\nSubject: \(encoded)\n\nbody\n")) {
        #expect($0.subject == expected)
        #expect($0.header("subject") == expected)
    }
}

/// RFC 2047 encoded-words in subjects: charsets, Q and B encodings, joining and folding.
let subjectCases: [MessageCase] = [
    subjectCase("UTF-8, B", "=?UTF-8?B?\(Data("Grüße aus Köln ✓".utf8).base64EncodedString())?=", "Grüße aus Köln ✓"),
    subjectCase("UTF-8, Q", "=?utf-8?q?Caf=C3=A9_cr=C3=A8me_br=C3=BBl=C3=A9e?=", "Café crème brûlée"),
    subjectCase("ISO-8859-1, Q, mixed with plain words", "=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
    subjectCase("ISO-8859-1, B", "=?iso-8859-1?b?\(Data([0x44, 0xE9, 0x6A, 0xE0, 0x20, 0x76, 0x75]).base64EncodedString())?=",
                "Déjà vu"),
    // RFC 2047 §8: whitespace between adjacent encoded-words is not displayed.
    subjectCase("adjacent encoded-words join", "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
    subjectCase("folded over two lines", "=?UTF-8?Q?first?=\n =?UTF-8?Q?_second?= and plain", "first second and plain"),
    subjectCase("windows-1252 Q", "=?windows-1252?Q?=93quoted=94_=80100?=", "“quoted” €100"),
    subjectCase("KOI8-R B", "=?koi8-r?B?\(Data([0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]).base64EncodedString())?=", "Привет"),
    subjectCase("plain ASCII", "Just words", "Just words"),
]

@Test("encoded-word subjects", arguments: subjectCases)
func encodedWordSubjects(_ testCase: MessageCase) throws {
    testCase.check(try parsed(testCase.raw))
}

@Test func addressesWithDisplayNamesAndGroups() throws {
    let message = try parsed(wire("""
        From: =?UTF-8?Q?M=C3=BCller=2C_Hans?= <Hans.Mueller@Example.COM>
        Sender: "Assistant" <assistant@example.com>
        To: "Doe, Jane" <jane@example.org>, bob@example.net, Team: a@x.org, "B" <b@x.org>;
        Cc: undisclosed-recipients:;
        Bcc: hidden@example.com
        Reply-To: Replies <  replies@example.com  >
        Subject: addresses

        body
        """))
    #expect(message.from == [MailAddress(name: "Müller, Hans", address: "Hans.Mueller@Example.COM")])
    #expect(message.from.first?.normalized == "hans.mueller@example.com")
    #expect(message.sender == [MailAddress(name: "Assistant", address: "assistant@example.com")])
    #expect(message.to.map(\.address) == ["jane@example.org", "bob@example.net", "a@x.org", "b@x.org"])
    #expect(message.to.first?.name == "Doe, Jane")
    #expect(message.to[1].name == nil)
    #expect(message.to[3].name == "B")
    #expect(message.cc.isEmpty)
    #expect(message.bcc == [MailAddress(address: "hidden@example.com")])
    #expect(message.replyTo == [MailAddress(name: "Replies", address: "replies@example.com")])
    #expect(message.problems.isEmpty, "clean message, got \(message.problems)")
}

@Test func threadingHeadersAndDate() throws {
    let message = try parsed(wire("""
        Message-ID: <abc.123@mail.example.com>
        In-Reply-To: <parent@example.com>
        References: <root@example.com>
         <parent@example.com>
        Date: Tue, 2 Jan 2024 13:45:30 +0100
        From: a@example.com
        Subject: threading

        body
        """))
    #expect(message.messageID == "abc.123@mail.example.com")
    #expect(message.inReplyTo == ["parent@example.com"])
    #expect(message.references == ["root@example.com", "parent@example.com"])
    #expect(message.date == Date(timeIntervalSince1970: 1_704_199_530))
    #expect(message.header("References") == "<root@example.com> <parent@example.com>")
}

@Test func headersKeepOrderAndLookUpCaseInsensitively() throws {
    let raw = wire("""
        Received: from b.example by c.example; Tue, 2 Jan 2024 13:45:31 +0100
        Received: from a.example by b.example; Tue, 2 Jan 2024 13:45:30 +0100
        From: a@example.com
        X-Custom: =?UTF-8?Q?d=C3=A9cod=C3=A9?=
        Subject: order

        body
        """)
    let message = try parsed(raw)
    #expect(message.headers.map(\.name) == ["Received", "Received", "From", "X-Custom", "Subject"])
    #expect(message.header("received") == "from b.example by c.example; Tue, 2 Jan 2024 13:45:31 +0100")
    #expect(message.headers(named: "RECEIVED").count == 2)
    #expect(message.header("x-custom") == "décodé")
    #expect(message.header("X-Missing") == nil)
    #expect(message.size == raw.count)
    #expect(message.messageID == nil)
}

@Test func headerNamesCompareCaseInsensitivelyBeyondASCII() {
    #expect(ParsedMessage.sameName("In-Reply-To", "in-reply-TO"))
    #expect(!ParsedMessage.sameName("References", "Reference"))
    #expect(!ParsedMessage.sameName("X-A", "X-B"))
    #expect(ParsedMessage.sameName("X-Ünïcödé", "x-üNÏCÖDÉ"))
    #expect(!ParsedMessage.sameName("X-Ünïcödé", "X-Unicode"))
}

@Test func headerOnlyInputParses() throws {
    for raw in [wire("From: a@example.com\nSubject: only headers\nMessage-ID: <h@example.com>\n"),
                wire("From: a@example.com\nSubject: only headers\nMessage-ID: <h@example.com>\n\n"),
                Array("From: a@example.com\nSubject: only headers\nMessage-ID: <h@example.com>".utf8)] {
        let message = try parsed(raw)
        #expect(message.subject == "only headers")
        #expect(message.messageID == "h@example.com")
        #expect(message.from.map(\.address) == ["a@example.com"])
        #expect(message.textBody == nil)
        #expect(message.htmlBody == nil)
        #expect(message.attachments.isEmpty)
    }
}
