import Foundation
import MailCore
import Testing
@testable import MailProtocol

/// The parser against what real servers send: byte streams recorded from Dovecot 2.3, Cyrus IMAP 3.6 and
/// Courier-IMAP 5.0 (`scripts/record-transcripts.py`, one exchange per file under `Transcripts/<server>/`),
/// and the answers Gmail and Outlook.com document or were seen giving in public logs
/// (`Transcripts/README.md`). Each row names the file and what the parser must make of it.
enum Transcript {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Transcripts")

    static func bytes(_ server: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(server).appendingPathComponent("\(name).txt")))
    }
}

/// One transcript file and the expected parse.
struct TranscriptCase<Expected: Sendable>: Sendable, CustomStringConvertible {
    let server: String
    let file: String
    let expected: Expected
    var description: String { "\(server)/\(file)" }

    init(_ server: String, _ file: String, _ expected: Expected) {
        self.server = server
        self.file = file
        self.expected = expected
    }
}

let transcriptStatusCases: [TranscriptCase<MailboxStatus>] = [
    TranscriptCase("dovecot", "select", MailboxStatus(uidValidity: UIDValidity(1796662212), uidNext: UID(4), exists: 3, highestModSeq: 4)),
    TranscriptCase("dovecot", "examine", MailboxStatus(uidValidity: UIDValidity(1796662211), uidNext: UID(3), exists: 2, highestModSeq: 3)),
    TranscriptCase("dovecot", "status", MailboxStatus(uidValidity: UIDValidity(1796662212), uidNext: UID(4), exists: 3, highestModSeq: 4)),
    TranscriptCase("dovecot", "status-folder", MailboxStatus(uidValidity: UIDValidity(1796662211), uidNext: UID(3), exists: 2, highestModSeq: 3)),
    // Cyrus adds MAILBOXID, URLMECH and ANNOTATIONS codes and puts EXISTS before FLAGS.
    TranscriptCase("cyrus", "select", MailboxStatus(uidValidity: UIDValidity(1796662216), uidNext: UID(4), exists: 3, highestModSeq: 4)),
    TranscriptCase("cyrus", "examine", MailboxStatus(uidValidity: UIDValidity(1796662217), uidNext: UID(3), exists: 2, highestModSeq: 3)),
    TranscriptCase("cyrus", "status", MailboxStatus(uidValidity: UIDValidity(1796662216), uidNext: UID(4), exists: 3, highestModSeq: 4)),
    TranscriptCase("cyrus", "status-folder", MailboxStatus(uidValidity: UIDValidity(1796662217), uidNext: UID(3), exists: 2, highestModSeq: 3)),
    // Courier's SELECT and EXAMINE carry no UIDNEXT (RFC 3501 §6.3.1 requires it): nil, not an error.
    // Its STATUS does report one. No CONDSTORE, so never a HIGHESTMODSEQ.
    TranscriptCase("courier", "select", MailboxStatus(uidValidity: UIDValidity(796662220), uidNext: nil, exists: 3)),
    TranscriptCase("courier", "examine", MailboxStatus(uidValidity: UIDValidity(796662220), uidNext: nil, exists: 2)),
    TranscriptCase("courier", "status", MailboxStatus(uidValidity: UIDValidity(796662220), uidNext: UID(4), exists: 3)),
    TranscriptCase("courier", "status-folder", MailboxStatus(uidValidity: UIDValidity(796662220), uidNext: UID(3), exists: 2)),
    TranscriptCase("gmail", "select", MailboxStatus(uidValidity: UIDValidity(3), uidNext: UID(30566), exists: 7619, highestModSeq: 2384884)),
    TranscriptCase("outlook", "select", MailboxStatus(uidValidity: UIDValidity(14), uidNext: UID(4491), exists: 1)),
    TranscriptCase("outlook", "status", MailboxStatus(uidValidity: UIDValidity(1), uidNext: UID(113838), exists: 0)),
]

@Test("SELECT, EXAMINE and STATUS of real servers", arguments: transcriptStatusCases)
func transcriptMailboxStatus(_ row: TranscriptCase<MailboxStatus>) throws {
    #expect(try IMAPResponseParser.mailboxStatus(try Transcript.bytes(row.server, row.file)) == row.expected)
}

@Test("STATUS of a folder with a non-ASCII name is matched by its decoded name",
      arguments: [("dovecot", "Rechnungen/Größe"), ("cyrus", "Rechnungen/Größe"), ("courier", "INBOX.Rechnungen.Größe")])
func transcriptStatusOfNamedFolder(_ server: String, _ folder: String) throws {
    let stream = try Transcript.bytes(server, "status-folder")
    #expect(try IMAPResponseParser.mailboxStatus(stream, mailbox: folder).exists == 2)
    // A STATUS for another mailbox is not taken for this one's.
    #expect(throws: IMAPProtocolError.self) { try IMAPResponseParser.mailboxStatus(stream, mailbox: "INBOX") }
}

let transcriptSearchCases: [TranscriptCase<[UInt32]>] = [
    TranscriptCase("dovecot", "uid-search", [1, 2, 3]),
    TranscriptCase("cyrus", "uid-search", [1, 2, 3]),
    TranscriptCase("courier", "uid-search", [1, 2, 3]),
    // `UID 1000:*` with UIDs 1–3: RFC 3501 §6.4.8 makes `n:*` include the highest UID; Dovecot and Cyrus
    // say 3, Courier answers an empty `* SEARCH`.
    TranscriptCase("dovecot", "uid-search-empty", [3]),
    TranscriptCase("cyrus", "uid-search-empty", [3]),
    TranscriptCase("courier", "uid-search-empty", []),
    TranscriptCase("dovecot", "esearch", [1, 2, 3]),
    TranscriptCase("cyrus", "esearch", [1, 2, 3]),
    TranscriptCase("dovecot", "esearch-empty", [3]),
    TranscriptCase("cyrus", "esearch-empty", [3]),
    TranscriptCase("gmail", "uid-search", [30565]),
    TranscriptCase("gmail", "esearch", [30561, 30564, 30565]),
    TranscriptCase("outlook", "uid-search", [4488, 4490]),
]

@Test("UID SEARCH and ESEARCH of real servers", arguments: transcriptSearchCases)
func transcriptSearch(_ row: TranscriptCase<[UInt32]>) throws {
    #expect(try IMAPResponseParser.searchUIDs(try Transcript.bytes(row.server, row.file)) == row.expected.map(UID.init))
}

/// ESEARCH items come in each server's own order (Dovecot MIN MAX ALL COUNT, Cyrus COUNT MIN MAX ALL).
@Test("ESEARCH MIN, MAX, COUNT and ALL in any order", arguments: ["dovecot", "cyrus"])
func transcriptESearch(_ server: String) throws {
    let result = try IMAPResponseParser.eSearch(try Transcript.bytes(server, "esearch"))
    #expect(result.min == UID(1))
    #expect(result.max == UID(3))
    #expect(result.count == 3)
    #expect(result.all.map(Array.init) == [UID(1), UID(2), UID(3)])
}

/// (RFC822.SIZE, flags) of UIDs 1–3 and the INTERNALDATE's seconds since 1970.
struct MetadataRow: Sendable {
    let sizes: [Int]
    let flags: [String]
    let internalDate: TimeInterval
}

let transcriptMetadataCases: [TranscriptCase<MetadataRow>] = [
    TranscriptCase("dovecot", "fetch-metadata", MetadataRow(sizes: [281, 285, 318], flags: ["\\Seen", "\\Recent"],
                                                             internalDate: 1_796_662_211)),
    // Cyrus: items in its own order, the day of INTERNALDATE space-padded (" 7-Dec-2026", RFC 3501 date-day-fixed).
    TranscriptCase("cyrus", "fetch-metadata", MetadataRow(sizes: [281, 285, 318], flags: ["\\Recent", "\\Seen"],
                                                           internalDate: 1_796_662_216)),
    TranscriptCase("courier", "fetch-metadata", MetadataRow(sizes: [281, 285, 318], flags: ["\\Seen"],
                                                             internalDate: 1_796_662_220)),
]

@Test("UID FETCH (UID RFC822.SIZE FLAGS INTERNALDATE) of real servers", arguments: transcriptMetadataCases)
func transcriptFetchMetadata(_ row: TranscriptCase<MetadataRow>) throws {
    let messages = try IMAPResponseParser.fetchMetadata(try Transcript.bytes(row.server, row.file))
    #expect(messages.map(\.uid) == [UID(1), UID(2), UID(3)])
    #expect(messages.map(\.size) == row.expected.sizes)
    #expect(messages.allSatisfy { $0.flags == row.expected.flags })
    #expect(messages.allSatisfy { $0.internalDate == Date(timeIntervalSince1970: row.expected.internalDate) })
}

@Test("Gmail's FETCH with X-GM-THRID and X-GM-MSGID before UID")
func transcriptGmailFetch() throws {
    let messages = try IMAPResponseParser.fetchMetadata(try Transcript.bytes("gmail", "fetch-metadata"))
    #expect(messages == [MessageMetadata(uid: UID(30561), size: 4210, flags: ["\\Seen"],
                                          internalDate: Date(timeIntervalSince1970: 1_796_634_902))])
}

/// The bodies of UIDs 2 and 3 as literals; the third has lines that look like an untagged response and like a
/// tagged completion, which a line-by-line reader takes for the server's own.
@Test("UID FETCH BODY.PEEK[] literals of real servers", arguments: ["dovecot", "cyrus", "courier"])
func transcriptFetchBodies(_ server: String) throws {
    let responses = try IMAPResponseParser.completedResponses(try Transcript.bytes(server, "fetch-bodies"))
    let bodies = responses.filter { $0.dataName == "FETCH" }.compactMap { response -> [UInt8]? in
        guard let items = response.values.last?.list else { return nil }
        for case .string(let bytes) in items { return bytes }
        return nil
    }
    #expect(bodies.map(\.count) == [285, 318])
    let third = String(decoding: bodies.last ?? [], as: UTF8.self)
    #expect(third.hasPrefix("From: Sender 3 <sender3@example.test>\r\n"))
    #expect(third.hasSuffix("\r\n* 3 EXISTS\r\nT999 OK a body line that looks like a response\r\n"))
    #expect(String(decoding: bodies.first ?? [], as: UTF8.self).contains("Grüße aus dem zweiten."))
    // The body lines `* 3 EXISTS` and `T999 OK …` stay inside the literal: two FETCH responses, one completion.
    #expect(responses.count == 3)
    #expect(responses.last?.condition == .ok)
}

/// Capabilities that steer the client's dialect, present (+) or absent (-), from the last CAPABILITY seen.
let transcriptCapabilityCases: [TranscriptCase<[String]>] = [
    TranscriptCase("dovecot", "greeting", ["+STARTTLS", "+AUTH=PLAIN", "+SASL-IR", "+LITERAL+", "-LOGINDISABLED"]),
    TranscriptCase("dovecot", "capability-after-login", ["+ESEARCH", "+CONDSTORE", "+UIDPLUS", "+MOVE", "-STARTTLS"]),
    TranscriptCase("dovecot", "login", ["+ESEARCH", "+CONDSTORE"]),
    TranscriptCase("cyrus", "greeting", ["+STARTTLS", "+LOGINDISABLED", "-AUTH=PLAIN"]),
    TranscriptCase("cyrus", "capability-before-login", ["+AUTH=PLAIN", "+SASL-IR", "-STARTTLS", "-LOGINDISABLED"]),
    // Cyrus 3.6 lists LOGINDISABLED again after a successful login over TLS: a client must not read it as
    // "cannot log in" once it is logged in.
    TranscriptCase("cyrus", "login", ["+ESEARCH", "+CONDSTORE", "+QRESYNC", "+LITERAL+", "+LOGINDISABLED"]),
    TranscriptCase("cyrus", "capability-after-login", ["+ESEARCH", "+CONDSTORE", "+UIDPLUS", "+MOVE", "+LOGINDISABLED", "-SASL-IR"]),
    TranscriptCase("courier", "greeting", ["+STARTTLS", "+LOGINDISABLED", "+UTF8=ACCEPT", "-AUTH=PLAIN"]),
    TranscriptCase("courier", "capability-before-login", ["+AUTH=PLAIN", "-STARTTLS", "-LOGINDISABLED"]),
    // Courier's LOGIN completion carries no capabilities: the last ones seen are the pre-login ones.
    TranscriptCase("courier", "capability-after-login", ["+UIDPLUS", "+IDLE", "-ESEARCH", "-CONDSTORE", "-LITERAL+", "-MOVE", "-SASL-IR"]),
    TranscriptCase("gmail", "capability-after-login", ["+X-GM-EXT-1", "+ESEARCH", "+CONDSTORE", "+LITERAL-", "-LITERAL+"]),
    TranscriptCase("gmail", "login", ["+X-GM-EXT-1", "+UIDPLUS"]),
    TranscriptCase("outlook", "capability-before-login", ["+AUTH=XOAUTH2", "+SASL-IR", "-MOVE"]),
    TranscriptCase("outlook", "capability-after-login", ["+MOVE", "+UIDPLUS", "+LITERAL+", "-ESEARCH", "-CONDSTORE"]),
]

@Test("CAPABILITY responses and codes of real servers", arguments: transcriptCapabilityCases)
func transcriptCapabilities(_ row: TranscriptCase<[String]>) throws {
    let capabilities = IMAPResponseParser.capabilities(try Transcript.bytes(row.server, row.file))
    for item in row.expected {
        let name = String(item.dropFirst())
        #expect(capabilities.contains(name) == item.hasPrefix("+"), "\(name)")
    }
}

/// (decoded name, delimiter) of each LIST line, in the server's order.
let transcriptListCases: [TranscriptCase<[String]>] = [
    TranscriptCase("dovecot", "list", ["Rechnungen", "Rechnungen/Größe", "Drafts", "Sent", "Junk", "Trash", "INBOX"]),
    TranscriptCase("cyrus", "list", ["INBOX", "Rechnungen", "Rechnungen/Größe"]),
    // Courier: everything below INBOX, "." as the delimiter, names quoted.
    TranscriptCase("courier", "list", ["INBOX.Rechnungen.Größe", "INBOX", "INBOX.Rechnungen"]),
    TranscriptCase("gmail", "list", ["INBOX", "[Gmail]", "[Gmail]/All Mail", "[Gmail]/Drafts", "[Gmail]/Important",
                                     "[Gmail]/Sent Mail", "[Gmail]/Spam", "[Gmail]/Starred", "[Gmail]/Trash"]),
    TranscriptCase("outlook", "list", ["Archive", "Deleted", "Drafts", "Inbox", "Junk", "Notes", "Sent Items"]),
]

@Test("LIST of real servers, non-ASCII names decoded", arguments: transcriptListCases)
func transcriptList(_ row: TranscriptCase<[String]>) throws {
    let entries = try IMAPResponseParser.listMailboxes(try Transcript.bytes(row.server, row.file))
    #expect(entries.map(\.name) == row.expected)
    let delimiter: Character = row.server == "courier" ? "." : "/"
    #expect(entries.allSatisfy { $0.delimiter == delimiter })
}

@Test("Special-use attributes in LIST", arguments: [("gmail", "[Gmail]/All Mail", "\\All"), ("outlook", "Sent Items", "\\Sent"),
                                                    ("dovecot", "Trash", "\\Trash"), ("courier", "INBOX.Rechnungen", "\\Noselect")])
func transcriptListAttributes(_ server: String, _ name: String, _ attribute: String) throws {
    let entries = try IMAPResponseParser.listMailboxes(try Transcript.bytes(server, "list"))
    #expect(entries.first { $0.name == name }?.attributes.contains(attribute) == true)
}

@Test("APPENDUID of real servers",
      arguments: [("dovecot", UInt32(1796662212)), ("cyrus", 1796662216), ("courier", 796662220)])
func transcriptAppendUID(_ server: String, _ validity: UInt32) throws {
    let result = try IMAPResponseParser.appendUID(try Transcript.bytes(server, "append"))
    #expect(result?.0 == UIDValidity(validity))
    #expect(result?.1 == UID(1))
}

/// Completions that must fail the command: a missing mailbox, a refused login.
@Test("NO completions of real servers fail the command",
      arguments: ["dovecot", "cyrus", "courier"].flatMap { server in ["select-missing", "login-failed"].map { (server, $0) } })
func transcriptNo(_ server: String, _ file: String) throws {
    let stream = try Transcript.bytes(server, file)
    #expect(throws: IMAPProtocolError.self) { try IMAPResponseParser.completedResponses(stream) }
    let last = try IMAPResponse.parseStream(stream).last
    #expect(last?.condition == .no)
    // Dovecot names the reason in a response code; Cyrus and Courier only in text.
    if server == "dovecot" && file == "login-failed" { #expect(last?.codeName == "AUTHENTICATIONFAILED") }
}

/// Streams that must parse completely, with their untagged and tagged responses in order.
@Test("Every recorded exchange parses", arguments: ["dovecot", "cyrus", "courier", "gmail", "outlook"])
func transcriptEveryFileParses(_ server: String) throws {
    let directory = Transcript.root.appendingPathComponent(server)
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        .filter { $0.hasSuffix(".txt") && $0 != "commands.txt" }.sorted()
    #expect(files.count >= 8)
    for file in files {
        let stream = [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
        let responses = try IMAPResponse.parseStream(stream)
        #expect(!responses.isEmpty, "\(server)/\(file)")
    }
}

@Test("EXPUNGE while selected: untagged EXPUNGE (and Courier's new EXISTS), then OK",
      arguments: [("dovecot", [String]()), ("cyrus", ["HIGHESTMODSEQ"]), ("courier", [String]())])
func transcriptExpunge(_ server: String, _ codes: [String]) throws {
    let responses = try IMAPResponseParser.completedResponses(try Transcript.bytes(server, "expunge"))
    #expect(responses.first?.dataName == "EXPUNGE")
    #expect(responses.first?.values.first?.number == 1)
    #expect(responses.last.flatMap(\.codeName).map { [$0] } ?? [] == codes)
    if server == "courier" {
        #expect(responses.contains { $0.dataName == "EXISTS" && $0.values.first?.number == 2 })
    }
}

@Test("LOGOUT: BYE, then the tagged OK", arguments: ["dovecot", "cyrus", "courier"])
func transcriptLogout(_ server: String) throws {
    let responses = try IMAPResponseParser.completedResponses(try Transcript.bytes(server, "logout"))
    #expect(responses.map(\.condition) == [.bye, .ok])
}

@Test("AUTHENTICATE PLAIN: a continuation request, then OK", arguments: ["dovecot", "cyrus", "courier"])
func transcriptAuthenticate(_ server: String) throws {
    let responses = try IMAPResponse.parseStream(try Transcript.bytes(server, "authenticate-plain"))
    #expect(responses.last?.condition == .ok)
    // Dovecot takes the SASL-IR initial response in one line; Cyrus and Courier were asked with `+`.
    #expect(responses.contains { $0.tag == .continuation } == (server != "dovecot"))
}
