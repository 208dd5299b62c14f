import Foundation
import MailCore

/// Parsers of the byte stream a server sends for one command, as libcurl hands it to the header
/// callback: possibly a greeting and login exchange, a SELECT libcurl sent on its own, untagged
/// data, and tagged completions.
///
/// Unless noted, a parser requires the stream to end with a tagged completion and throws
/// `.commandFailed` if any tagged completion is `NO` or `BAD`, so a cut stream is never taken for a
/// complete answer. Untagged responses that do not belong to the command (EXPUNGE, unsolicited
/// FETCH FLAGS, RECENT, …) are ignored.
public enum IMAPResponseParser {
    /// The most UIDs `searchUIDs` returns: far above any real mailbox, far below what exhausts memory.
    public static let maxSearchUIDs = 5_000_000

    /// Parses `stream` and checks its tagged completions.
    public static func completedResponses(_ stream: [UInt8]) throws -> [IMAPResponse] {
        let responses = try IMAPResponse.parseStream(stream)
        guard let last = responses.last(where: { if case .tagged = $0.tag { true } else { false } }) else {
            throw IMAPProtocolError(.incomplete, "no tagged completion")
        }
        for response in responses {
            guard case .tagged(let tag) = response.tag, let condition = response.condition, condition != .ok
            else { continue }
            throw IMAPProtocolError(.commandFailed, "\(tag) \(condition.rawValue) \(response.text)")
        }
        _ = last
        return responses
    }

    /// Mailbox status from a SELECT/EXAMINE response (§7.1 codes UIDVALIDITY, UIDNEXT,
    /// HIGHESTMODSEQ and `* n EXISTS`) or a STATUS response (§7.2.4). When the stream holds
    /// several (libcurl's own SELECT before a command), later values win. With `mailbox`, STATUS
    /// responses for other mailboxes are ignored.
    public static func mailboxStatus(_ stream: [UInt8], mailbox: String? = nil) throws -> MailboxStatus {
        var uidValidity: UInt32?, uidNext: UInt32?, exists: Int?, highestModSeq: UInt64?
        for response in try completedResponses(stream) {
            if let code = response.code, code.count >= 2, let value = code[1].number {
                switch response.codeName {
                case "UIDVALIDITY": uidValidity = UInt32(exactly: value)
                case "UIDNEXT": uidNext = UInt32(exactly: value)
                case "HIGHESTMODSEQ": highestModSeq = value
                default: break
                }
            }
            switch response.dataName {
            case "EXISTS":
                if let count = response.values.first?.number { exists = Int(count) }
            case "STATUS":
                guard response.values.count >= 3, let items = response.values[2].list else {
                    throw IMAPProtocolError(.malformed, "STATUS without an attribute list")
                }
                if let mailbox, let name = response.values[1].text,
                    (try? ModifiedUTF7.decode(name)) != mailbox, name != mailbox
                {
                    continue
                }
                for (name, value) in pairs(items) {
                    guard let number = value.number else { continue }
                    switch name {
                    case "UIDVALIDITY": uidValidity = UInt32(exactly: number)
                    case "UIDNEXT": uidNext = UInt32(exactly: number)
                    case "MESSAGES": exists = Int(number)
                    case "HIGHESTMODSEQ": highestModSeq = number
                    default: break
                    }
                }
            default: break
            }
        }
        guard let uidValidity else { throw IMAPProtocolError(.missingData, "no UIDVALIDITY in response") }
        guard let exists else { throw IMAPProtocolError(.missingData, "no EXISTS/MESSAGES in response") }
        // HIGHESTMODSEQ 0 would mean "no mod-sequences" (RFC 7162 §3.1.2.2 uses NOMODSEQ instead).
        return MailboxStatus(uidValidity: UIDValidity(uidValidity), uidNext: uidNext.map(UID.init),
                             exists: exists, highestModSeq: highestModSeq == 0 ? nil : highestModSeq)
    }

    /// The UIDs of a `UID SEARCH`: every `* SEARCH n…` (RFC 3501 §7.2.5, a trailing
    /// `(MODSEQ n)` ignored) and every `* ESEARCH … UID` (RFC 4731 §3.1), sorted and unique.
    /// From ESEARCH it takes ALL; when ALL was not requested, MIN and MAX are the UIDs it knows.
    ///
    /// Callers searching `UID n:*` must drop UIDs below n: RFC 3501 §6.4.8 makes `n:*` include the
    /// highest UID even when that is below n.
    ///
    /// An ESEARCH `ALL` set is expanded UID by UID, so its size is bounded by `maxSearchUIDs` (a set
    /// such as `1:4294967295` is a few bytes on the wire and would otherwise take gigabytes): more
    /// throws `.malformed`.
    public static func searchUIDs(_ stream: [UInt8]) throws -> [UID] {
        var uids = Set<UID>()
        for response in try completedResponses(stream) {
            switch response.dataName {
            case "SEARCH":
                for value in response.values.dropFirst() {
                    if let number = value.number {
                        guard let uid = UInt32(exactly: number), uid > 0 else {
                            throw IMAPProtocolError(.malformed, "bad UID \(number) in SEARCH")
                        }
                        uids.insert(UID(uid))
                    }
                }
            case "ESEARCH":
                let result = try eSearchResult(response)
                if let all = result.all {
                    guard all.count <= maxSearchUIDs - uids.count else {
                        throw IMAPProtocolError(.malformed, "ESEARCH ALL names \(all.count) UIDs, more than the \(maxSearchUIDs) a search result may hold")
                    }
                    uids.formUnion(all)
                } else {
                    if let min = result.min { uids.insert(min) }
                    if let max = result.max { uids.insert(max) }
                }
            default: break
            }
        }
        return uids.sorted()
    }

    /// The ESEARCH result of a `UID SEARCH RETURN (…)` (RFC 4731 §3.1); all fields nil when the
    /// search matched nothing. Throws `.missingData` if there is no ESEARCH response.
    public static func eSearch(_ stream: [UInt8]) throws -> ESearchResult {
        guard let response = try completedResponses(stream).last(where: { $0.dataName == "ESEARCH" }) else {
            throw IMAPProtocolError(.missingData, "no ESEARCH response")
        }
        return try eSearchResult(response)
    }

    /// `* ESEARCH [(TAG "x")] [UID] *(name value)`.
    private static func eSearchResult(_ response: IMAPResponse) throws -> ESearchResult {
        var values = response.values.dropFirst()
        if values.first?.list != nil { values = values.dropFirst() }  // search-correlator
        guard values.first?.atom?.uppercased() == "UID" else {
            throw IMAPProtocolError(.malformed, "ESEARCH without UID: the result holds sequence numbers")
        }
        var result = ESearchResult()
        for (name, value) in pairs(Array(values.dropFirst())) {
            switch name {
            case "MIN": result.min = try uid(value)
            case "MAX": result.max = try uid(value)
            case "COUNT": result.count = value.number.map { Int($0) }
            case "ALL":
                guard let text = value.atom else { throw IMAPProtocolError(.malformed, "ESEARCH ALL without a set") }
                result.all = try UIDSet(parsing: text)
            default: break  // e.g. MODSEQ (RFC 7162), PARTIAL
            }
        }
        return result
    }

    /// Metadata from `UID FETCH … (UID RFC822.SIZE FLAGS INTERNALDATE)` responses
    /// (RFC 3501 §7.4.2), items in any order, sorted by UID. FETCH responses without UID or
    /// RFC822.SIZE (unsolicited flag updates) are merged into a complete one for the same UID
    /// if there is one, else ignored.
    public static func fetchMetadata(_ stream: [UInt8]) throws -> [MessageMetadata] {
        struct Partial { var size: Int?; var flags: [String]?; var date: Date? }
        var byUID: [UID: Partial] = [:]
        for response in try completedResponses(stream) where response.dataName == "FETCH" {
            guard response.values.count >= 3, let items = response.values[2].list else {
                throw IMAPProtocolError(.malformed, "FETCH without an attribute list")
            }
            var uid: UID?
            var partial = Partial()
            for (name, value) in pairs(items) {
                switch name {
                case "UID": uid = try self.uid(value)
                case "RFC822.SIZE":
                    guard let size = value.number else { throw IMAPProtocolError(.malformed, "bad RFC822.SIZE") }
                    partial.size = Int(size)
                case "FLAGS":
                    guard let list = value.list else { throw IMAPProtocolError(.malformed, "FLAGS is not a list") }
                    partial.flags = list.compactMap(\.atom)
                case "INTERNALDATE":
                    guard let text = value.text, let date = IMAPDate.parseDateTime(text) else {
                        throw IMAPProtocolError(.malformed, "bad INTERNALDATE")
                    }
                    partial.date = date
                default: break
                }
            }
            guard let uid else { continue }
            var merged = byUID[uid] ?? Partial()
            merged.size = partial.size ?? merged.size
            merged.flags = partial.flags ?? merged.flags
            merged.date = partial.date ?? merged.date
            byUID[uid] = merged
        }
        return byUID.compactMap { uid, partial in
            partial.size.map { MessageMetadata(uid: uid, size: $0, flags: partial.flags ?? [], internalDate: partial.date) }
        }.sorted { $0.uid < $1.uid }
    }

    /// Capabilities, upper-cased, from the last `* CAPABILITY` response or `[CAPABILITY …]` code
    /// (RFC 3501 §7.2.1): the last one describes the state after login. Lenient: malformed input
    /// or a stream without capabilities gives an empty set.
    public static func capabilities(_ stream: [UInt8]) -> Set<String> {
        let responses = (try? IMAPResponse.parseStream(stream)) ?? []
        var result: Set<String> = []
        for response in responses {
            if response.dataName == "CAPABILITY" {
                result = Set(response.values.dropFirst().compactMap { $0.atom?.uppercased() })
            } else if response.codeName == "CAPABILITY", let code = response.code {
                result = Set(code.dropFirst().compactMap { $0.atom?.uppercased() })
            }
        }
        return result
    }

    /// The mailboxes of a `LIST` response (RFC 3501 §7.2.2), names decoded (from modified UTF-7
    /// unless the connection enabled UTF8=ACCEPT).
    public static func listMailboxes(_ stream: [UInt8], names: MailboxNameEncoding = .modifiedUTF7) throws -> [MailboxListEntry] {
        try completedResponses(stream).compactMap { response -> MailboxListEntry? in
            guard response.dataName == "LIST" else { return nil }
            guard response.values.count >= 4, let attributes = response.values[1].list,
                let wireName = response.values[3].text
            else { throw IMAPProtocolError(.malformed, "malformed LIST response") }
            let delimiter = response.values[2].text.flatMap(\.first)
            return MailboxListEntry(name: try names.decode(wireName), delimiter: delimiter,
                                    attributes: attributes.compactMap(\.atom))
        }
    }

    /// The `[APPENDUID uidvalidity uid]` code of an APPEND completion (RFC 4315 §3), if any.
    public static func appendUID(_ stream: [UInt8]) throws -> (UIDValidity, UID)? {
        for response in try completedResponses(stream).reversed() where response.codeName == "APPENDUID" {
            guard let code = response.code, code.count >= 3, let validity = code[1].number,
                let validity32 = UInt32(exactly: validity)
            else { throw IMAPProtocolError(.malformed, "malformed APPENDUID") }
            return (UIDValidity(validity32), try uid(code[2]))
        }
        return nil
    }

    // MARK: - Helpers

    /// Name/value pairs of an attribute list, names upper-cased. A `BODY[…]` name keeps its
    /// section out of the pairing: `BODY`, `.section`, value.
    private static func pairs(_ values: [IMAPValue]) -> [(String, IMAPValue)] {
        var result: [(String, IMAPValue)] = []
        var index = 0
        while index + 1 < values.count {
            let name = values[index].atom?.uppercased() ?? ""
            var valueIndex = index + 1
            if case .section = values[valueIndex] { valueIndex += 1 }
            if valueIndex < values.count, let origin = values[valueIndex].atom, origin.hasPrefix("<") {
                valueIndex += 1
            }
            guard valueIndex < values.count else { break }
            result.append((name, values[valueIndex]))
            index = valueIndex + 1
        }
        return result
    }

    private static func uid(_ value: IMAPValue) throws -> UID {
        guard let number = value.number, let raw = UInt32(exactly: number), raw > 0 else {
            throw IMAPProtocolError(.malformed, "bad UID")
        }
        return UID(raw)
    }
}
