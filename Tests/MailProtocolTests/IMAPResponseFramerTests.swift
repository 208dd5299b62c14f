import Foundation
import MailCore
import Testing
@testable import MailProtocol

/// What the framer made of a transcript: complete responses (bodies replaced by `%k`) and the
/// streamed bodies, each as one byte string.
struct FramedTranscript: Equatable, CustomStringConvertible {
    var responses: [String] = []
    var bodies: [String] = []

    var description: String { "responses \(responses.map(\.debugDescription)), bodies \(bodies.map(\.debugDescription))" }

    /// Feeds `chunks` one after another, taking every event.
    static func frame(_ chunks: [[UInt8]], maxResponseBytes: Int = 1 << 20) throws -> FramedTranscript {
        var framer = IMAPResponseFramer(maxResponseBytes: maxResponseBytes)
        var out = FramedTranscript()
        var body: [UInt8]?
        for chunk in chunks {
            framer.buffer.append(contentsOf: chunk)
            while let event = try framer.next() {
                switch event {
                case .response(let bytes): out.responses.append(String(decoding: bytes, as: UTF8.self))
                case .bodyStart: body = []
                case .bodyBytes(let slice): body?.append(contentsOf: slice)
                case .bodyEnd: out.bodies.append(String(decoding: body ?? [], as: UTF8.self)); body = nil
                }
            }
        }
        #expect(framer.isDrained)
        return out
    }
}

struct FramerCase: Sendable, CustomStringConvertible {
    let name: String
    let stream: String
    let responses: [String]
    let bodies: [String]
    var description: String { name }
}

/// Transcripts as Dovecot, Cyrus and Courier send them (CRLF added by `crlf`).
let framerCases: [FramerCase] = [
    FramerCase(name: "body literal holding lines that look like responses", stream: """
        * 1 FETCH (UID 7 BODY[] {34}
        * 2 EXISTS
        M1 OK fake
        {5}
        end
        )
        M1 OK Fetch completed.

        """, responses: ["* 1 FETCH (UID 7 BODY[] %0)\r\n", "M1 OK Fetch completed.\r\n"],
        bodies: ["* 2 EXISTS\r\nM1 OK fake\r\n{5}\r\nend\r\n"]),
    FramerCase(name: "items in any order, untagged responses between", stream: """
        * 3 EXISTS
        * 1 FETCH (BODY[] {3}
        abc UID 9 FLAGS (\\Seen))
        * 2 EXPUNGE
        * 1 FETCH (FLAGS (\\Seen \\Flagged))
        * OK [ALERT] System shutdown in 10 minutes
        M2 OK done

        """, responses: ["* 3 EXISTS\r\n", "* 1 FETCH (BODY[] %0 UID 9 FLAGS (\\Seen))\r\n", "* 2 EXPUNGE\r\n",
                          "* 1 FETCH (FLAGS (\\Seen \\Flagged))\r\n", "* OK [ALERT] System shutdown in 10 minutes\r\n",
                          "M2 OK done\r\n"], bodies: ["abc"]),
    FramerCase(name: "header section and an origin, two bodies in one response", stream: """
        * 4 FETCH (UID 12 BODY[HEADER] {4}
        H: x BODY[]<0> {2}
        ab)

        """, responses: ["* 4 FETCH (UID 12 BODY[HEADER] %0 BODY[]<0> %1)\r\n"], bodies: ["H: x", "ab"]),
    FramerCase(name: "small literals stay in the response (LIST, ENVELOPE)", stream: """
        * LIST (\\HasNoChildren) "/" {7}
        Entwurf
        * 1 FETCH (ENVELOPE (NIL {3}
        a b NIL NIL NIL NIL NIL NIL NIL NIL))

        """, responses: ["* LIST (\\HasNoChildren) \"/\" {7}\r\nEntwurf\r\n",
                         "* 1 FETCH (ENVELOPE (NIL {3}\r\na b NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"], bodies: []),
    FramerCase(name: "RFC822 item (Courier) and an empty literal", stream: """
        * 2 FETCH (RFC822 {0}
         UID 3)
        * BYE Courier-IMAP server shutting down

        """, responses: ["* 2 FETCH (RFC822 %0 UID 3)\r\n", "* BYE Courier-IMAP server shutting down\r\n"], bodies: [""]),
]

@Test(arguments: framerCases)
func framerCutsResponsesAndStreamsBodies(_ example: FramerCase) throws {
    let stream = crlf(example.stream)
    let whole = try FramedTranscript.frame([stream])
    #expect(whole.responses == example.responses.map { $0 })
    #expect(whole.bodies == example.bodies)
    // The same transcript cut at every byte, and one byte per read: the same result.
    for cut in 0...stream.count {
        let split = try FramedTranscript.frame([Array(stream[..<cut]), Array(stream[cut...])])
        #expect(split == whole, "cut at \(cut)")
    }
    #expect(try FramedTranscript.frame(stream.map { [$0] }) == whole)
}

@Test func framerLimitsResponsesButNotBodies() throws {
    // A 200-byte line without its end passes a 100-byte limit: refused before the LF arrives.
    var framer = IMAPResponseFramer(maxResponseBytes: 100)
    framer.buffer = Array(repeating: UInt8(ascii: "a"), count: 200)
    #expect(throws: IMAPProtocolError.self) { try framer.next() }
    // A small literal announced beyond the limit is refused at its announcement.
    #expect(throws: IMAPProtocolError.self) {
        _ = try FramedTranscript.frame([crlf("* LIST () \"/\" {5000}\n")], maxResponseBytes: 100)
    }
    // A body of any size streams through.
    let big = String(repeating: "x", count: 10_000)
    let framed = try FramedTranscript.frame([crlf("* 1 FETCH (UID 1 BODY[] {10000}\n"), Array(big.utf8), crlf(")\n")],
                                            maxResponseBytes: 100)
    #expect(framed.bodies == [big])
}

@Test func fetchResponseReadsItemsInAnyOrder() throws {
    let parsed = try IMAPResponse.parseStream(crlf("* 5 FETCH (BODY[HEADER] %0 FLAGS (\\Seen) BODY[] \"hi\" UID 42 BODY[TEXT] NIL)\n"))
    let fetch = try #require(try IMAPFetchResponse(parsed[0]))
    #expect(fetch.sequenceNumber == 5)
    #expect(fetch.uid == UID(42))
    #expect(fetch.flags == ["\\Seen"])
    #expect(fetch.bodies == [
        .init(section: "HEADER", content: .streamed(0)),
        .init(section: "", content: .inline(Array("hi".utf8))),
        .init(section: "TEXT", content: .inline(nil)),
    ])
    #expect(try IMAPFetchResponse(IMAPResponse.parseStream(crlf("* 5 EXISTS\n"))[0]) == nil)
}

@Test func statusResponseIsParsed() throws {
    let stream = crlf("* STATUS \"Entw&APw-rfe\" (UIDNEXT 17 MESSAGES 3)\nM3 OK done\n")
    let status = try #require(try IMAPStatusResponse.find(in: stream, mailbox: "Entwürfe"))
    #expect(status.items == ["UIDNEXT": 17, "MESSAGES": 3])
}

@Test func commandLinesSendLiteralsAsTheServerAllows() {
    let command = IMAPCommandLine([.text("APPEND \"INBOX\" () "), .literal(Array("abc".utf8))])
    #expect(command.segments(tag: "M1", literals: .plus) == [
        .init(bytes: Array("M1 APPEND \"INBOX\" () {3+}\r\nabc\r\n".utf8), awaitsContinuation: false)])
    #expect(command.segments(tag: "M1", literals: .synchronizing) == [
        .init(bytes: Array("M1 APPEND \"INBOX\" () {3}\r\n".utf8), awaitsContinuation: false),
        .init(bytes: Array("abc\r\n".utf8), awaitsContinuation: true)])
    let big = IMAPCommandLine([.text("APPEND x () "), .literal(Array(repeating: 65, count: 5000))])
    #expect(big.segments(tag: "M2", literals: .minus).count == 2)  // LITERAL-: only up to 4096 octets
    #expect(IMAPCommandLine.LiteralMode(capabilities: ["LITERAL-"]) == .minus)
}

@Test func saslInitialResponses() {
    #expect(IMAPSASL.plain(username: "tim", password: "tanstaaftanstaaf") == "AHRpbQB0YW5zdGFhZnRhbnN0YWFm")  // RFC 4616 §4
    #expect(IMAPSASL.base64(Array("n,a=user@example.com,\u{1}auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\u{1}\u{1}".utf8))
        == IMAPSASL.oauthBearer(username: "user@example.com", token: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="))
    #expect(IMAPSASL.oauthBearer(username: "a,b=c", token: "t").isEmpty == false)
    #expect(IMAPSASL.saslName("a,b=c") == "a=2Cb=3Dc")
    #expect(IMAPSASL.xoauth2(username: "someuser@example.com", token: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
        == "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==")
    #expect(IMAPSASL.base64([1]) == "AQ==")
}

@Test func appendDateTimeIsUTC() {
    #expect(IMAPDate.dateTime(Date(timeIntervalSince1970: 1_700_000_000)) == "\"14-Nov-2023 22:13:20 +0000\"")
    #expect(IMAPDate.dateTime(Date(timeIntervalSince1970: 0)) == "\"01-Jan-1970 00:00:00 +0000\"")
}
