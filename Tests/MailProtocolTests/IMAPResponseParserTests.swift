import Foundation
import MailCore
import Testing
@testable import MailProtocol

// MARK: - Mailbox status

struct StatusCase: Sendable, CustomStringConvertible {
    let name: String
    let stream: String
    let mailbox: String?
    let expected: MailboxStatus
    var description: String { name }
}

let statusCases: [StatusCase] = [
    StatusCase(name: "EXAMINE after login", stream: loginPreamble + """
        * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
        * OK [PERMANENTFLAGS ()] Read-only mailbox.
        * 0 EXISTS
        * 0 RECENT
        * OK [UIDVALIDITY 1796089244] UIDs valid
        * OK [UIDNEXT 1] Predicted next UID
        A003 OK [READ-ONLY] Examine completed (0.006 + 0.000 + 0.005 secs).

        """, mailbox: nil,
        expected: MailboxStatus(uidValidity: UIDValidity(1796089244), uidNext: UID(1), exists: 0)),
    StatusCase(name: "SELECT with HIGHESTMODSEQ, libcurl's SELECT first: later wins", stream: selectPreamble + """
        * OK [CLOSED] Previous mailbox closed.
        * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
        * 5 EXISTS
        * OK [UIDVALIDITY 1796089244] UIDs valid
        * OK [UIDNEXT 9] Predicted next UID
        * OK [HIGHESTMODSEQ 12] Highest
        A004 OK [READ-WRITE] Select completed.

        """, mailbox: nil,
        expected: MailboxStatus(uidValidity: UIDValidity(1796089244), uidNext: UID(9), exists: 5, highestModSeq: 12)),
    StatusCase(name: "STATUS, attributes in any order", stream: """
        * STATUS INBOX (MESSAGES 200 UIDNEXT 201 UIDVALIDITY 1796089244 HIGHESTMODSEQ 201)
        A003 OK Status completed (0.001 + 0.000 secs).

        """, mailbox: "INBOX",
        expected: MailboxStatus(uidValidity: UIDValidity(1796089244), uidNext: UID(201), exists: 200, highestModSeq: 201)),
    StatusCase(name: "STATUS of a modified UTF-7 name given as a literal, other mailbox ignored", stream: """
        * STATUS "Other" (MESSAGES 7 UIDNEXT 8 UIDVALIDITY 1)
        * STATUS {15}
        Entw&APw-rfe 24 (UIDVALIDITY 42 MESSAGES 3 UIDNEXT 4)
        A3 OK Status completed.

        """, mailbox: "Entwürfe 24",
        expected: MailboxStatus(uidValidity: UIDValidity(42), uidNext: UID(4), exists: 3)),
]

@Test(arguments: statusCases)
func mailboxStatusFromStream(_ example: StatusCase) throws {
    #expect(try IMAPResponseParser.mailboxStatus(crlf(example.stream), mailbox: example.mailbox) == example.expected)
}

@Test func mailboxStatusNeedsUIDValidity() {
    #expect {
        _ = try IMAPResponseParser.mailboxStatus(crlf("* 0 EXISTS\nA1 OK done\n"))
    } throws: { ($0 as? IMAPProtocolError)?.code == .missingData }
}

// MARK: - Search

struct SearchCase: Sendable, CustomStringConvertible {
    let name: String
    let stream: String
    let expected: [UInt32]
    var description: String { name }
}

let searchCases: [SearchCase] = [
    SearchCase(name: "plain SEARCH after libcurl's SELECT", stream: selectPreamble + """
        * SEARCH 3 1 2
        A004 OK Search completed (0.001 + 0.000 secs).

        """, expected: [1, 2, 3]),
    SearchCase(name: "empty SEARCH", stream: "* SEARCH\nA4 OK Search completed.\n", expected: []),
    SearchCase(name: "SEARCH with CONDSTORE modseq, split over two responses",
               stream: "* SEARCH 7 9 (MODSEQ 917162500)\n* SEARCH 11\nA4 OK done\n", expected: [7, 9, 11]),
    SearchCase(name: "ESEARCH ALL", stream: """
        * ESEARCH (TAG "A004") UID ALL 150:153,160,170:171
        A004 OK Search completed (0.001 + 0.000 secs).

        """, expected: [150, 151, 152, 153, 160, 170, 171]),
    SearchCase(name: "ESEARCH MIN MAX COUNT ALL", stream: """
        * ESEARCH (TAG "A004") UID MIN 150 MAX 200 ALL 150:200 COUNT 51
        A004 OK Search completed.

        """, expected: Array(150...200)),
    SearchCase(name: "ESEARCH MIN MAX only", stream: "* ESEARCH (TAG \"A4\") UID MIN 3 MAX 99 COUNT 5\nA4 OK x\n",
               expected: [3, 99]),
    SearchCase(name: "ESEARCH, nothing matched", stream: "* ESEARCH (TAG \"A004\") UID\nA004 OK Search completed.\n",
               expected: []),
    // RFC 3501 §6.4.8: `UID 500:*` with highest UID 200 matches 200. The parser reports what the
    // server said; IMAPSession.searchUIDs(after:) drops it.
    SearchCase(name: "UID n:* beyond the highest UID still returns the highest",
               stream: "* ESEARCH (TAG \"A004\") UID ALL 200\nA004 OK Search completed.\n", expected: [200]),
    SearchCase(name: "unsolicited EXPUNGE and EXISTS are ignored",
               stream: "* 2 EXPUNGE\n* 4 EXISTS\n* SEARCH 5\nA4 OK x\n", expected: [5]),
]

@Test(arguments: searchCases)
func searchUIDsFromStream(_ example: SearchCase) throws {
    #expect(try IMAPResponseParser.searchUIDs(crlf(example.stream)).map(\.rawValue) == example.expected)
}

@Test func eSearchResultKeepsMinMaxCount() throws {
    let result = try IMAPResponseParser.eSearch(
        crlf("* ESEARCH (TAG \"A4\") UID MIN 150 MAX 200 ALL 150:200 COUNT 51\nA4 OK x\n"))
    #expect(result == ESearchResult(min: UID(150), max: UID(200), count: 51, all: UIDSet(UID(150)...UID(200))))
}

@Test func eSearchWithoutUIDIsRefused() {
    // Without the UID indicator, ESEARCH reports sequence numbers (RFC 4731 §3.1).
    #expect {
        _ = try IMAPResponseParser.searchUIDs(crlf("* ESEARCH (TAG \"A4\") ALL 1:3\nA4 OK x\n"))
    } throws: { ($0 as? IMAPProtocolError)?.code == .malformed }
}

/// Found by `make fuzz` (imap): an ESEARCH ALL range is a few bytes on the wire but was expanded UID by
/// UID, so `1:4294967295` took gigabytes and minutes. A set beyond `maxSearchUIDs` is refused instead.
@Test func eSearchAllBeyondTheLimitIsRefusedWithoutExpanding() throws {
    #expect {
        _ = try IMAPResponseParser.searchUIDs(crlf("* ESEARCH (TAG \"A4\") UID ALL 1:4294967295\nA4 OK x\n"))
    } throws: { ($0 as? IMAPProtocolError)?.code == .malformed }
    // Two sets that fit alone but not together.
    let half = IMAPResponseParser.maxSearchUIDs / 2 + 1
    #expect {
        _ = try IMAPResponseParser.searchUIDs(crlf("""
            * ESEARCH (TAG "A4") UID ALL 1:\(half)
            * ESEARCH (TAG "A4") UID ALL \(half + 1):\(2 * half)
            A4 OK x

            """))
    } throws: { ($0 as? IMAPProtocolError)?.code == .malformed }
}

// MARK: - Completion

struct FailureCase: Sendable, CustomStringConvertible {
    let name: String
    let stream: String
    let code: IMAPProtocolError.Code
    var description: String { name }
}

let failureCases: [FailureCase] = [
    FailureCase(name: "tagged NO", stream: "A4 NO [CANNOT] Invalid search\n", code: .commandFailed),
    FailureCase(name: "tagged BAD after data", stream: "* SEARCH 1\nA4 BAD Error in IMAP command\n", code: .commandFailed),
    FailureCase(name: "no tagged completion (cut stream)", stream: "* SEARCH 1 2 3\n", code: .incomplete),
    FailureCase(name: "BYE instead of completion",
                stream: "* BYE Mailbox UIDVALIDITY changed\n", code: .incomplete),
]

@Test(arguments: failureCases)
func searchRefusesFailedOrCutStream(_ example: FailureCase) {
    #expect {
        _ = try IMAPResponseParser.searchUIDs(crlf(example.stream))
    } throws: { ($0 as? IMAPProtocolError)?.code == example.code }
}

@Test func commandFailureCarriesServerText() {
    #expect {
        _ = try IMAPResponseParser.searchUIDs(crlf("A4 NO [CANNOT] Invalid search\n"))
    } throws: { "\($0)".contains("A4 NO Invalid search") }
}

// MARK: - Fetch metadata

private func date(_ seconds: TimeInterval) -> Date { Date(timeIntervalSince1970: seconds) }

struct MetadataCase: Sendable, CustomStringConvertible {
    let name: String
    let stream: String
    let expected: [MessageMetadata]
    var description: String { name }
}

let metadataCases: [MetadataCase] = [
    MetadataCase(name: "Dovecot's order, after libcurl's SELECT", stream: selectPreamble + """
        * 1 FETCH (UID 1 RFC822.SIZE 46 FLAGS (\\Seen \\Recent) INTERNALDATE "01-Dec-2026 01:41:36 +0000")
        * 2 FETCH (UID 3 RFC822.SIZE 1200 FLAGS () INTERNALDATE " 2-Jan-2024 10:00:00 +0200")
        A004 OK Fetch completed (0.001 + 0.000 secs).

        """, expected: [
            MessageMetadata(uid: UID(1), size: 46, flags: ["\\Seen", "\\Recent"], internalDate: date(1_796_089_296)),
            MessageMetadata(uid: UID(3), size: 1200, flags: [], internalDate: date(1_704_182_400)),
        ]),
    MetadataCase(name: "items in another order, keywords, odd spacing, sorted by UID", stream: """
        * 9 FETCH (INTERNALDATE "17-Jul-1996 02:44:25 -0700" FLAGS ($Forwarded \\Answered)  UID 20 RFC822.SIZE 4286)
        * 8 FETCH (FLAGS (\\Draft) RFC822.SIZE 10 UID 19)
        A5 OK Fetch completed.

        """, expected: [
            MessageMetadata(uid: UID(19), size: 10, flags: ["\\Draft"], internalDate: nil),
            MessageMetadata(uid: UID(20), size: 4286, flags: ["$Forwarded", "\\Answered"], internalDate: date(837_596_665)),
        ]),
    MetadataCase(name: "unsolicited flag update merges, one without size is dropped", stream: """
        * 4 FETCH (FLAGS (\\Seen))
        * 1 FETCH (UID 5 RFC822.SIZE 99 FLAGS () INTERNALDATE "01-Jan-2020 00:00:00 +0000")
        * 1 FETCH (UID 5 FLAGS (\\Flagged))
        * 2 FETCH (UID 6 FLAGS (\\Deleted))
        A6 OK done

        """, expected: [
            MessageMetadata(uid: UID(5), size: 99, flags: ["\\Flagged"], internalDate: date(1_577_836_800)),
        ]),
    MetadataCase(name: "a header literal in the same response is skipped",
                 stream: "* 1 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {15}\nSubject: m3\n\n RFC822.SIZE 7)\nA7 OK done\n",
                 expected: [MessageMetadata(uid: UID(2), size: 7, flags: [], internalDate: nil)]),
]

@Test(arguments: metadataCases)
func fetchMetadataFromStream(_ example: MetadataCase) throws {
    #expect(try IMAPResponseParser.fetchMetadata(crlf(example.stream)) == example.expected)
}

@Test func fetchMetadataRejectsBadDate() {
    #expect {
        _ = try IMAPResponseParser.fetchMetadata(crlf("* 1 FETCH (UID 1 RFC822.SIZE 1 INTERNALDATE \"yesterday\")\nA OK x\n"))
    } throws: { ($0 as? IMAPProtocolError)?.code == .malformed }
}

// MARK: - Capabilities, LIST, APPENDUID

@Test func capabilitiesTakeTheLastAdvertisement() {
    let caps = IMAPResponseParser.capabilities(crlf(loginPreamble))
    #expect(caps.contains("ESEARCH") && caps.contains("UIDPLUS") && caps.contains("CONDSTORE"))
    #expect(IMAPResponseParser.capabilities(crlf("* OK [CAPABILITY IMAP4rev1 esearch] hi\n")) == ["IMAP4REV1", "ESEARCH"])
    #expect(IMAPResponseParser.capabilities(crlf("A1 OK [CAPABILITY IMAP4rev1 MOVE] Logged in\n")) == ["IMAP4REV1", "MOVE"])
    #expect(IMAPResponseParser.capabilities(Array("garbage".utf8)).isEmpty)
}

@Test func listMailboxesDecodesNames() throws {
    let stream = crlf("""
        * LIST (\\HasNoChildren) "." "a%b"
        * LIST (\\HasChildren \\Noselect) "." {7}
        Archiv.
        * LIST (\\HasNoChildren \\Sent) "." "Entw&APw-rfe 2024"
        * LIST (\\HasNoChildren) NIL INBOX
        A5 OK List completed (0.001 + 0.000 secs).

        """)
    let entries = try IMAPResponseParser.listMailboxes(stream)
    #expect(entries == [
        MailboxListEntry(name: "a%b", delimiter: ".", attributes: ["\\HasNoChildren"]),
        MailboxListEntry(name: "Archiv.", delimiter: ".", attributes: ["\\HasChildren", "\\Noselect"]),
        MailboxListEntry(name: "Entwürfe 2024", delimiter: ".", attributes: ["\\HasNoChildren", "\\Sent"]),
        MailboxListEntry(name: "INBOX", delimiter: nil, attributes: ["\\HasNoChildren"]),
    ])
    #expect(entries.map(\.isSelectable) == [true, false, true, true])
}

@Test func appendUIDFromCompletion() throws {
    let stream = crlf("+ OK\nA3 OK [APPENDUID 1796089244 61] Append completed (0.004 + 0.000 secs).\n")
    let result = try IMAPResponseParser.appendUID(stream)
    #expect(result?.0 == UIDValidity(1796089244) && result?.1 == UID(61))
    #expect(try IMAPResponseParser.appendUID(crlf("A3 OK Append completed.\n")) == nil)
}
