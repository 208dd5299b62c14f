import Foundation
import MailCore
import MailProtocol

extension IMAPSession {
    /// The server's capabilities after login (CAPABILITY, RFC 3501 §6.1.1), upper-cased.
    /// Asked once per session, then cached.
    public func capabilities() throws -> Set<String> {
        if let cachedCapabilities { return cachedCapabilities }
        let result = try command("CAPABILITY", in: nil) { stream in
            _ = try IMAPResponseParser.completedResponses(stream)
            return IMAPResponseParser.capabilities(stream)
        }
        cachedCapabilities = result
        return result
    }

    /// `NOOP` (RFC 3501 §6.1.2): proves the connection and the login still work. Connects and logs
    /// in first when the session has no connection. A connection the server dropped while idle is
    /// replaced once (see `perform`), so a failure here means the server cannot be used now.
    public func noop() throws {
        try command("NOOP", in: nil) { _ = try IMAPResponseParser.completedResponses($0) }
    }

    /// The mailbox's UIDVALIDITY, UIDNEXT, message count and (with CONDSTORE) HIGHESTMODSEQ, read
    /// from a fresh `SELECT "folder"` (RFC 3501 §6.3.1), sent as a custom command on the folder's URL.
    ///
    /// Why SELECT and not EXAMINE or STATUS: libcurl tracks the mailbox it selected and skips
    /// SELECT for URLs naming it again. A custom EXAMINE would leave the server's selection
    /// read-only (or on another mailbox) behind libcurl's back; STATUS on the selected mailbox
    /// answers from the session's stale view (Dovecot flags it `[CLIENTBUG]` and reported an old
    /// UIDVALIDITY after it had changed). A custom SELECT on the folder's own URL keeps both sides
    /// agreeing and refreshes the server's view; libcurl sends its own SELECT first when the folder
    /// was not selected yet. If the custom SELECT fails, the server may have no mailbox selected
    /// while libcurl thinks otherwise, so the next command starts a new connection.
    /// Throws `.noSuchFolder` when the mailbox does not exist.
    public func examine(_ folder: String) throws -> MailboxStatus {
        let known = curlSelection?.folder == folder ? curlSelection?.uidValidity : nil
        // RFC 7162 §3.1.8: SELECT … (CONDSTORE) makes the server report HIGHESTMODSEQ.
        let condstore = try capabilities().contains("CONDSTORE") ? " (CONDSTORE)" : ""
        do {
            let (status, libcurlSaw) = try command("SELECT \(IMAPCommand.quotedMailbox(folder))\(condstore)",
                                                   in: folder) { stream in
                let validities = Self.uidValidities(stream)
                // Two SELECTs in the stream: libcurl's own came first. One: libcurl skipped its own.
                return (try IMAPResponseParser.mailboxStatus(stream), validities.count >= 2 ? validities.first : known)
            }
            // libcurl checks `;UIDVALIDITY=` against what its own SELECT saw. If that is stale or
            // unknown, only a new connection (and so a new SELECT by libcurl) makes the check honest.
            curlSelection = (folder, libcurlSaw)
            if libcurlSaw != status.uidValidity { freshConnectionNeeded = true }
            return status
        } catch {
            // The server may now have no mailbox selected while libcurl believes otherwise.
            freshConnectionNeeded = true
            throw error
        }
    }

    /// The UIDs above `after` (all UIDs when nil), ascending.
    ///
    /// With ESEARCH (RFC 4731): `UID SEARCH RETURN (ALL) UID n:*`, one compact line. Without it,
    /// plain `UID SEARCH UID a:b` over bounded ranges up to UIDNEXT, so that no response line
    /// outgrows libcurl's buffer (it would be cut silently). Either way UIDs ≤ `after` are
    /// dropped: RFC 3501 §6.4.8 makes `n:*` match the highest UID even when it is below n.
    /// The server searches its view of the mailbox as of the last command on it: messages
    /// delivered since may show only after `examine` (which re-selects).
    public func searchUIDs(_ folder: String, after: UID?) throws -> [UID] {
        let first: UInt32
        if let after {
            guard after.rawValue < UInt32.max else { return [] }
            first = after.rawValue + 1
        } else {
            first = 1
        }
        let uids: [UID]
        if try usesESEARCH() {
            uids = try command("UID SEARCH RETURN (ALL) UID \(first):*", in: folder,
                               IMAPResponseParser.searchUIDs)
        } else {
            uids = try rangedSearch(folder, criteria: "", from: first)
        }
        return uids.filter { $0.rawValue >= first }
    }

    /// The UIDs of messages whose INTERNALDATE is on or after the UTC day of `since`
    /// (`UID SEARCH SINCE 1-Feb-2024`, RFC 3501 §6.4.4; the server compares dates in its own
    /// time zone and ignores the time of day).
    public func searchUIDs(_ folder: String, since: Date) throws -> [UID] {
        let criteria = "SINCE \(IMAPDate.searchDate(since))"
        if try usesESEARCH() {
            return try command("UID SEARCH RETURN (ALL) \(criteria)", in: folder,
                               IMAPResponseParser.searchUIDs)
        }
        return try rangedSearch(folder, criteria: criteria + " ", from: 1)
    }

    private func usesESEARCH() throws -> Bool {
        if let esearchOverride { return esearchOverride }
        return try capabilities().contains("ESEARCH")
    }

    /// Plain `UID SEARCH <criteria>UID a:b` for consecutive ranges of `searchRangeSize` UIDs from
    /// `first`; the last range is open (`a:*`) so that messages arriving meanwhile are not missed.
    private func rangedSearch(_ folder: String, criteria: String, from first: UInt32) throws -> [UID] {
        guard let uidNext = try examine(folder).uidNext?.rawValue else {
            throw TransportError(.protocolError, detail: "server reported no UIDNEXT")
        }
        var result: [UID] = []
        var low = UInt64(first)
        repeat {
            let high = low + UInt64(searchRangeSize) - 1
            let range = high + 1 >= UInt64(uidNext) ? "\(low):*" : "\(low):\(high)"
            result += try command("UID SEARCH \(criteria)UID \(range)", in: folder,
                                  IMAPResponseParser.searchUIDs)
            low = high + 1
        } while low < UInt64(uidNext)
        return Array(Set(result.filter { $0.rawValue >= first })).sorted()
    }

    /// UID, RFC822.SIZE, FLAGS and INTERNALDATE of the given messages, ascending by UID; UIDs that
    /// no longer exist are absent. Sent as `UID FETCH set (UID RFC822.SIZE FLAGS INTERNALDATE)`
    /// in chunks of about 25, halving a chunk whose response libcurl finds too large.
    public func fetchMetadata(_ folder: String, uids: UIDSet) throws -> [MessageMetadata] {
        try uids.chunked(maxCount: metadataChunkSize).flatMap { try fetchMetadataChunk(folder, $0) }
    }

    private func fetchMetadataChunk(_ folder: String, _ chunk: UIDSet) throws -> [MessageMetadata] {
        do {
            let metadata = try command("UID FETCH \(chunk) (UID RFC822.SIZE FLAGS INTERNALDATE)",
                                       in: folder, IMAPResponseParser.fetchMetadata)
            return metadata.filter { chunk.contains($0.uid) }
        } catch let error as TransportError where error.code == .responseTooLarge && chunk.count > 1 {
            let halves = chunk.chunked(maxCount: (chunk.count + 1) / 2)
            return try halves.flatMap { try fetchMetadataChunk(folder, $0) }
        }
    }

    /// The complete message, exactly as stored (CRLF line ends), by URL `…/folder/;UID=n`.
    ///
    /// libcurl sends `UID FETCH n BODY[]`, which sets `\Seen` (RFC 3501 §6.4.5); use
    /// `removeSeenFlag` afterwards to keep a message unread. With `uidValidity`, libcurl compares it
    /// with what its SELECT of the mailbox reported and the call throws `.uidValidityChanged` on a
    /// mismatch; a missing UID throws `.noSuchMessage`. libcurl does not re-SELECT a mailbox it has
    /// selected, so call `examine` at the start of each sync round: it notices a changed
    /// UIDVALIDITY and makes the next fetch reconnect and re-check. (Dovecot also ends sessions
    /// whose selected mailbox changed UIDVALIDITY; the failed fetch is retried on a new
    /// connection, where the check fails as it should.)
    ///
    /// With `maxBytes`, the transfer aborts as soon as the body passes that many bytes, whatever
    /// RFC822.SIZE the server announced, and the call throws `.messageTooLarge` (nothing of the
    /// body is kept).
    public func fetchMessage(_ folder: String, uid: UID, uidValidity: UIDValidity? = nil, maxBytes: Int? = nil) throws -> [UInt8] {
        try perform(Request(url: url.message(folder, uid: uid.rawValue, uidValidity: uidValidity?.rawValue),
                            folder: folder, bodyLimit: maxBytes)).body
    }

    /// The message's header block including the blank line that ends it (`BODY[HEADER]` via URL
    /// `;SECTION=HEADER`). Like `fetchMessage`, this sets `\Seen`.
    public func fetchHeader(_ folder: String, uid: UID, uidValidity: UIDValidity? = nil, maxBytes: Int? = nil) throws -> [UInt8] {
        try perform(Request(url: url.message(folder, uid: uid.rawValue, uidValidity: uidValidity?.rawValue,
                                              section: "HEADER"), folder: folder, bodyLimit: maxBytes)).body
    }

    /// Clears `\Seen` without a FETCH response per message: `UID STORE set -FLAGS.SILENT (\Seen)`
    /// (RFC 3501 §6.4.6), in chunks of 500 UIDs to keep command lines short.
    public func removeSeenFlag(_ folder: String, uids: UIDSet) throws {
        for chunk in uids.chunked(maxCount: 500) {
            try command("UID STORE \(chunk) -FLAGS.SILENT (\\Seen)", in: folder) {
                _ = try IMAPResponseParser.completedResponses($0)
            }
        }
    }

    /// Sets exactly `flags` on the messages (`UID STORE set FLAGS.SILENT (…)`).
    public func replaceFlags(_ folder: String, uids: UIDSet, flags: [String]) throws {
        guard let list = IMAPCommand.flagList(flags) else {
            throw TransportError(.protocolError, detail: "invalid flag in \(flags)")
        }
        for chunk in uids.chunked(maxCount: 500) {
            try command("UID STORE \(chunk) FLAGS.SILENT \(list)", in: folder) {
                _ = try IMAPResponseParser.completedResponses($0)
            }
        }
    }

    /// Appends a message (CRLF line ends expected) and returns its UID when the server reports it
    /// (UIDPLUS, RFC 4315).
    ///
    /// libcurl's upload always sends `APPEND "folder" (\Seen) {n}` with no date, and refuses
    /// control characters in custom commands, so a literal cannot be sent any other way: the
    /// message gets the server's current time as INTERNALDATE, and flags other than `\Seen` are
    /// set afterwards with `UID STORE … FLAGS.SILENT`, which needs the UID (throws
    /// `.protocolError` without UIDPLUS).
    @discardableResult
    public func append(_ folder: String, message: [UInt8], flags: [String] = ["\\Seen"]) throws -> UID? {
        guard IMAPCommand.flagList(flags) != nil else {
            throw TransportError(.protocolError, detail: "invalid flag in \(flags)")
        }
        // APPEND selects nothing: no `folder` for the selection record.
        let transfer = try perform(Request(url: url.mailbox(folder), upload: message))
        let appended = (try? IMAPResponseParser.appendUID(transfer.header)).flatMap { $0 }
        if Set(flags.map { $0.uppercased() }) != ["\\SEEN"] {
            guard let (_, uid) = appended else {
                throw TransportError(.protocolError, detail: "server gave no APPENDUID: cannot set flags \(flags)")
            }
            try replaceFlags(folder, uids: UIDSet([uid]), flags: flags)
        }
        return appended?.1
    }

    /// `CREATE "name"` (RFC 3501 §6.3.3); the name is sent in modified UTF-7.
    public func createFolder(_ name: String) throws {
        try command("CREATE \(IMAPCommand.quotedMailbox(name))", in: nil) {
            _ = try IMAPResponseParser.completedResponses($0)
        }
    }

    /// Every mailbox of the account (`LIST "" "*"`, RFC 3501 §6.3.8), with attributes and the
    /// hierarchy delimiter, names decoded.
    public func listMailboxes() throws -> [MailboxListEntry] {
        try command("LIST \"\" \"*\"", IMAPResponseParser.listMailboxes)
    }

    /// The names of every selectable mailbox of the account.
    public func listFolders() throws -> [String] {
        try listMailboxes().filter(\.isSelectable).map(\.name)
    }
}
