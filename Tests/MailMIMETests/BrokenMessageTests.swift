import Foundation
import Testing
@testable import MailMIME

/// A deliberately broken input and what parsing must make of it.
struct BrokenCase: Sendable, CustomTestStringConvertible {
    enum Outcome: Sendable {
        /// Parses, and `problems` mentions this text.
        case problem(String)
        /// Throws a MIMEError with this code.
        case error(MIMEError.Code)
    }
    let name: String
    let raw: [UInt8]
    let outcome: Outcome
    /// Further checks on the parsed message.
    var check: @Sendable (ParsedMessage) -> Void = { _ in }
    var testDescription: String { name }
}

private let text = "From: a@example.com\nSubject: broken\n"

let brokenCases: [BrokenCase] = [
    BrokenCase(name: "empty input", raw: [], outcome: .error(.emptyInput)),
    BrokenCase(name: "binary garbage", raw: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ $0 >> 3) },
               outcome: .error(.noMessage)),
    BrokenCase(name: "only blank lines", raw: wire("\n\n\n"), outcome: .error(.nothingUsable)),
    BrokenCase(name: "multipart cut off mid-part", raw: wire(text + """
        Content-Type: multipart/mixed; boundary=b

        --b
        Content-Type: text/plain

        the text survives
        --b
        Content-Type: application/pdf
        Content-Transfer-Encoding: base64

        JVBERi0xLjQK
        """), outcome: .problem("truncated")) {
        #expect($0.textBody == "the text survives")
        #expect($0.attachments.first?.data == Array("%PDF-1.4\n".utf8))
    },
    BrokenCase(name: "multipart without boundary parameter", raw: wire(text + """
        Content-Type: multipart/mixed

        --b
        Content-Type: text/plain

        hello
        --b--
        """), outcome: .problem("without boundary")) {
        #expect($0.textBody?.contains("hello") == true)
    },
    BrokenCase(name: "boundary never appears", raw: wire(text + """
        Content-Type: multipart/alternative; boundary=nowhere

        just some text
        """), outcome: .problem("without any parts")) {
        #expect($0.textBody?.contains("just some text") == true)
    },
    BrokenCase(name: "base64 with invalid characters", raw: wire(text + """
        Content-Type: application/octet-stream
        Content-Transfer-Encoding: base64

        SGVs!!bG8*gd29y~bGQ=
        """), outcome: .problem("invalid characters in base64")) {
        #expect($0.attachments.first?.data == Array("Hello world".utf8))
    },
    BrokenCase(name: "base64 cut short", raw: wire(text + """
        Content-Type: application/octet-stream
        Content-Transfer-Encoding: base64

        SGVsbG8gd29ybGQ
        """), outcome: .problem("truncated")),
    BrokenCase(name: "raw 8-bit header", raw: wire([
        .text("From: a@example.com\nSubject: Caf"), .bytes([0xE9, 0x20, 0x80]), .text("\n\nbody\n"),
    ]), outcome: .problem("unencoded 8-bit")) {
        #expect($0.subject == "Café €")
    },
    BrokenCase(name: "200 KB header line", raw: wire(text + "X-Long: " + String(repeating: "x", count: 200_000) + "\n\nbody\n"),
               outcome: .problem("exceeds RFC 5322")) {
        #expect($0.header("X-Long")?.count == 200_000)
        #expect($0.textBody == "body")
    },
    BrokenCase(name: "20 000 header fields with duplicated Subject",
               raw: wire(String(repeating: "Subject: again\nX-Many: field\n", count: 10_000) + "From: a@example.com\n\nbody\n"),
               outcome: .problem("duplicated header")) {
        #expect($0.headers.count == 20_001)
        #expect($0.subject == "again")
    },
    BrokenCase(name: "malformed encoded-words", raw: wire("""
        From: =?utf-8?B?!!!?= <a@example.com>
        Subject: =?no-such-charset?Q?caf=E9?= and =?utf-8?Q?unterminated

        body
        """), outcome: .problem("RFC 2047")) {
        #expect($0.subject?.contains("unterminated") == true)
        #expect($0.from.map(\.address) == ["a@example.com"])
    },
    BrokenCase(name: "unknown body charset", raw: wire(text + "Content-Type: text/plain; charset=x-martian\n\nplain words\n"),
               outcome: .problem("unknown charset")) {
        #expect($0.textBody == "plain words")
    },
    BrokenCase(name: "NUL bytes in header and body", raw: wire([
        .text("From: a@example.com\nSubject: a"), .bytes([0]), .text("b\nContent-Type: text/plain\n\nbo"), .bytes([0]), .text("dy\n"),
    ]), outcome: .problem("NUL")) {
        #expect($0.subject == "ab")
        #expect($0.textBody == "body")
    },
    BrokenCase(name: "unknown transfer encoding", raw: wire(text + "Content-Transfer-Encoding: x-rot13\n\nobql\n"),
               outcome: .problem("unknown Content-Transfer-Encoding")) {
        #expect($0.textBody == "obql")
    },
    BrokenCase(name: "nesting 300 multiparts deep", raw: wire(text + (0..<300).map {
        "Content-Type: multipart/mixed; boundary=b\($0)\n\n--b\($0)\n"
    }.joined() + "Content-Type: text/plain\n\ndeep\n"), outcome: .problem("nest")),
    BrokenCase(name: "invalid UTF-8 in a UTF-8 body", raw: wire([
        .text(text + "Content-Type: text/plain; charset=utf-8\n\nok "), .bytes([0xC3, 0x28, 0xFF]), .text("\n"),
    ]), outcome: .problem("invalid UTF-8")) {
        #expect($0.textBody == "ok \u{FFFD}(\u{FFFD}")
    },
    BrokenCase(name: "unparseable Date", raw: wire(text + "Date: the day after tomorrow\n\nbody\n"),
               outcome: .problem("unparseable Date")) {
        #expect($0.date == nil)
        #expect($0.header("Date") == "the day after tomorrow")
    },
    BrokenCase(name: "Content-Type without subtype", raw: wire(text + "Content-Type: application-x-gzip; name=a.gz\n\nxyz\n"),
               outcome: .problem("invalid Content-Type")) {
        #expect($0.attachments.first?.contentType == "application/octet-stream")
    },
    BrokenCase(name: "garbage address lists", raw: wire("""
        From: <<<@@>>>, ,;
        To: "unterminated <b@example.com
        Subject: addresses

        body
        """), outcome: .problem("address")),
    BrokenCase(name: "header block without separator", raw: wire("""
        From: a@example.com
        Subject: no blank line
        this line is no header
        and the body goes on
        """), outcome: .problem("invalid header name")) {
        // GMime drops lines that are neither header fields nor after a blank line.
        #expect($0.subject == "no blank line")
    },
]

@Test("broken input never crashes", arguments: brokenCases)
func brokenInput(_ testCase: BrokenCase) {
    do {
        let message = try MIMEParser.parse(testCase.raw)
        switch testCase.outcome {
        case .problem(let fragment):
            #expect(!message.problems.isEmpty, "a tolerated defect must be reported")
            #expect(message.problems.contains { $0.localizedCaseInsensitiveContains(fragment) },
                    "expected a problem mentioning \"\(fragment)\", got \(message.problems)")
            testCase.check(message)
        case .error(let code):
            Issue.record("expected MIMEError \(code), got a message with problems \(message.problems)")
        }
    } catch {
        guard case .error(let code) = testCase.outcome else {
            Issue.record("expected a tolerated message, got \(error)")
            return
        }
        #expect(error.code == code)
        #expect(!error.reason.isEmpty)
    }
}
