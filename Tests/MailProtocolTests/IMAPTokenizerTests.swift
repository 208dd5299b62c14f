import Testing
@testable import MailProtocol

struct TokenizerCase: Sendable, CustomStringConvertible {
    let name: String
    let stream: [UInt8]
    let expected: [IMAPResponse]
    var description: String { name }
}

private let literalBody = "Subject: * 1 EXISTS\r\nX: A004 OK fake\r\n\r\n"

let tokenizerCases: [TokenizerCase] = [
    TokenizerCase(name: "greeting with capability code", stream: crlf("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready.\n"),
                  expected: [IMAPResponse(tag: .untagged, condition: .ok,
                                          code: [.atom("CAPABILITY"), .atom("IMAP4rev1"), .atom("LITERAL+")],
                                          text: "ready.")]),
    TokenizerCase(name: "data and tagged completion", stream: crlf("* 3 EXISTS\nA5 OK [READ-ONLY] Done (0.1 + 0 secs).\n"),
                  expected: [IMAPResponse(tag: .untagged, values: [.atom("3"), .atom("EXISTS")]),
                             IMAPResponse(tag: .tagged("A5"), condition: .ok, code: [.atom("READ-ONLY")],
                                          text: "Done (0.1 + 0 secs).")]),
    TokenizerCase(name: "continuation", stream: crlf("+ OK\n"), expected: [IMAPResponse(tag: .continuation, text: "OK")]),
    TokenizerCase(name: "odd spacing and lower-case condition",
                  stream: crlf("*  2   FETCH  ( UID  7 FLAGS  ( \\Seen ) )\nA1 ok   fine\n"),
                  expected: [IMAPResponse(tag: .untagged, values: [.atom("2"), .atom("FETCH"),
                                          .list([.atom("UID"), .atom("7"), .atom("FLAGS"), .list([.atom("\\Seen")])])]),
                             IMAPResponse(tag: .tagged("A1"), condition: .ok, text: "fine")]),
    TokenizerCase(name: "literal holding lines that look like responses",
                  stream: Array("* 1 FETCH (UID 9 BODY[HEADER] {\(literalBody.utf8.count)}\r\n\(literalBody))\r\nA4 OK done\r\n".utf8),
                  expected: [IMAPResponse(tag: .untagged, values: [.atom("1"), .atom("FETCH"), .list([
                                .atom("UID"), .atom("9"), .atom("BODY"), .section([.atom("HEADER")]),
                                .string(Array(literalBody.utf8))])]),
                             IMAPResponse(tag: .tagged("A4"), condition: .ok, text: "done")]),
    TokenizerCase(name: "non-synchronizing literal, quoted escapes, partial origin",
                  stream: Array("* LIST () \"\\\\\" {3+}\r\na b\r\n* 2 FETCH (BODY[]<0> \"q\\\"x\")\r\nT OK x\r\n".utf8),
                  expected: [IMAPResponse(tag: .untagged, values: [.atom("LIST"), .list([]), .string([92]),
                                                                     .string(Array("a b".utf8))]),
                             IMAPResponse(tag: .untagged, values: [.atom("2"), .atom("FETCH"), .list([
                                .atom("BODY"), .section([]), .atom("<0>"), .string(Array("q\"x".utf8))])]),
                             IMAPResponse(tag: .tagged("T"), condition: .ok, text: "x")]),
    TokenizerCase(name: "bracket inside a keyword stays in the atom",
                  stream: crlf("* 1 FETCH (FLAGS (foo[bar \\*))\nT OK x\n"),
                  expected: [IMAPResponse(tag: .untagged, values: [.atom("1"), .atom("FETCH"), .list([
                                .atom("FLAGS"), .list([.atom("foo[bar"), .atom("\\*")])])]),
                             IMAPResponse(tag: .tagged("T"), condition: .ok, text: "x")]),
    TokenizerCase(name: "bare LF line ends are tolerated", stream: Array("* 4 EXISTS\nT NO [TRYCREATE] no\n".utf8),
                  expected: [IMAPResponse(tag: .untagged, values: [.atom("4"), .atom("EXISTS")]),
                             IMAPResponse(tag: .tagged("T"), condition: .no, code: [.atom("TRYCREATE")], text: "no")]),
]

@Test(arguments: tokenizerCases)
func tokenizerParsesStream(_ example: TokenizerCase) throws {
    #expect(try IMAPResponse.parseStream(example.stream) == example.expected)
}

struct BrokenStreamCase: Sendable, CustomStringConvertible {
    let name: String
    let stream: [UInt8]
    let code: IMAPProtocolError.Code
    var description: String { name }
}

let brokenStreams: [BrokenStreamCase] = [
    BrokenStreamCase(name: "no final line end", stream: Array("* 1 EXISTS".utf8), code: .incomplete),
    BrokenStreamCase(name: "cut inside a literal", stream: Array("* 1 FETCH (BODY[] {10}\r\nabc".utf8), code: .incomplete),
    BrokenStreamCase(name: "unbalanced list", stream: crlf("* 1 FETCH (UID 1\n"), code: .malformed),
    BrokenStreamCase(name: "tagged without condition", stream: crlf("A1 HELLO\n"), code: .malformed),
    BrokenStreamCase(name: "unterminated quote", stream: crlf("* LIST () \"/ INBOX\n"), code: .malformed),
    BrokenStreamCase(name: "stray close paren", stream: crlf("* SEARCH 1)\n"), code: .malformed),
    // Found by `make fuzz` (imap): a control character where a value starts made the tokenizer append
    // empty atoms without advancing, until memory ran out.
    BrokenStreamCase(name: "NUL between values", stream: crlf("* 0 REC5\0\0ENT\n"), code: .malformed),
    BrokenStreamCase(name: "TAB between values", stream: crlf("* 3\tEXISTS\n"), code: .malformed),
    BrokenStreamCase(name: "DEL inside a list", stream: crlf("* 1 FETCH (UID \u{7F}1)\n"), code: .malformed),
    BrokenStreamCase(name: "control character in a response code", stream: crlf("* OK [UIDNEXT \u{1}4] x\n"), code: .malformed),
]

@Test(arguments: brokenStreams)
func tokenizerRejectsBrokenStream(_ example: BrokenStreamCase) {
    #expect {
        _ = try IMAPResponse.parseStream(example.stream)
    } throws: { ($0 as? IMAPProtocolError)?.code == example.code }
}

@Test func completeResponsesOfACutStreamIgnoreTheTail() throws {
    // A connection that broke inside a literal: Dovecot's BYE never arrived.
    let cut = Array("* 1 FETCH (UID 1 BODY[] {100}\r\nFrom: a".utf8)
    #expect(try IMAPResponse.parseCompleteResponses(cut) == [])
    let answered = crlf("* 1 FETCH (FLAGS ())\n* BYE IMAP session state is inconsistent, please relogin.\nA7 OK do")
    let responses = try IMAPResponse.parseCompleteResponses(answered)
    #expect(responses.map(\.tag) == [.untagged, .untagged])
    #expect(responses.last?.condition == .bye)
}
