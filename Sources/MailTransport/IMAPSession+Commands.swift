import Foundation
import MailCore
import MailProtocol

extension IMAPSession {
    /// The server's capabilities after login (RFC 3501 §6.1.1), upper-cased: from the login's
    /// `[CAPABILITY …]` code or one `CAPABILITY` command, then kept for the connection.
    public func capabilities() throws -> Set<String> {
        try perform { try $0.knownCapabilities() }
    }

    /// `NOOP` (RFC 3501 §6.1.2): proves the connection and the login still work. Connects and logs
    /// in first when the session has no connection. A connection the server dropped while idle is
    /// replaced once (see `perform`), so a failure here means the server cannot be used now.
    public func noop() throws {
        try perform { try $0.execute(IMAPCommandLine("NOOP")) }
    }

    /// Selects `folder` (`SELECT`, or `EXAMINE` when `readOnly`: RFC 3501 §6.3.2, nothing in the
    /// mailbox changes, not even `\Recent`) and returns its fresh status. Later commands on the
    /// folder use this selection; flag changes re-select it read-write.
    /// Throws `.noSuchFolder` when the mailbox does not exist.
    @discardableResult
    public func select(_ folder: String, readOnly: Bool) throws -> MailboxStatus {
        try perform { try select($0, folder, readOnly: readOnly) }
    }

    /// The mailbox's UIDVALIDITY, UIDNEXT (nil when the server names none, even in STATUS),
    /// message count and (with CONDSTORE) HIGHESTMODSEQ, from a fresh SELECT of `folder` (or
    /// EXAMINE, when the session last selected it read-only): re-selecting makes the server show
    /// mail that arrived since. Throws `.noSuchFolder` when the mailbox does not exist.
    public func examine(_ folder: String) throws -> MailboxStatus {
        try perform { client in
            let readOnly = selection?.folder == folder ? selection?.readOnly ?? false : false
            return try select(client, folder, readOnly: readOnly)
        }
    }

    /// The UIDs above `after` (all UIDs when nil), ascending.
    ///
    /// `UID SEARCH RETURN (ALL) UID n:*` with ESEARCH (RFC 4731, one compact line), else plain
    /// `UID SEARCH UID n:*` (one line of every UID; the response limit applies). UIDs ≤ `after` are
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
        return try search(folder, criteria: "UID \(first):*").filter { $0.rawValue >= first }
    }

    /// The UIDs of messages whose INTERNALDATE is on or after the UTC day of `since`
    /// (`UID SEARCH SINCE 1-Feb-2024`, RFC 3501 §6.4.4; the server compares dates in its own
    /// time zone and ignores the time of day).
    public func searchUIDs(_ folder: String, since: Date) throws -> [UID] {
        try search(folder, criteria: "SINCE \(IMAPDate.searchDate(since))")
    }

    private func search(_ folder: String, criteria: String) throws -> [UID] {
        try perform { client in
            _ = try ensureSelected(client, folder)
            let esearch = try esearchOverride ?? client.knownCapabilities().contains("ESEARCH")
            let stream = try client.execute(IMAPCommandLine("UID SEARCH \(esearch ? "RETURN (ALL) " : "")\(criteria)"))
            return try parse("UID SEARCH") { try IMAPResponseParser.searchUIDs(stream) }
        }
    }

    /// UID, RFC822.SIZE, FLAGS and INTERNALDATE of the given messages, ascending by UID; UIDs that
    /// no longer exist are absent. `UID FETCH set (UID RFC822.SIZE FLAGS INTERNALDATE)` per
    /// `metadataChunkSize` UIDs. `\Recent` is left out of the flags: it belongs to the session that
    /// saw the message first, not to the message (RFC 3501 §2.3.2; IMAP4rev2 dropped it).
    public func fetchMetadata(_ folder: String, uids: UIDSet) throws -> [MessageMetadata] {
        try perform { client in
            _ = try ensureSelected(client, folder)
            return try uids.chunked(maxCount: max(1, metadataChunkSize)).flatMap { chunk in
                let stream = try client.execute(IMAPCommandLine("UID FETCH \(chunk) (UID RFC822.SIZE FLAGS INTERNALDATE)"))
                return try parse("UID FETCH") { try IMAPResponseParser.fetchMetadata(stream) }.compactMap { item -> MessageMetadata? in
                    guard chunk.contains(item.uid) else { return nil }
                    var kept = item
                    kept.flags.removeAll { $0.caseInsensitiveCompare("\\Recent") == .orderedSame }
                    return kept
                }
            }
        }
    }

    /// The complete message, exactly as stored (CRLF line ends): `UID FETCH n (UID BODY.PEEK[])`,
    /// which changes no flag (RFC 3501 §6.4.5).
    ///
    /// With `uidValidity`, throws `.uidValidityChanged` when the selected mailbox's UIDVALIDITY
    /// differs (as the session's last SELECT of it saw it: call `examine` at the start of a sync
    /// round). A missing UID throws `.noSuchMessage`. With `maxBytes`, a longer body throws
    /// `.messageTooLarge` (its bytes are read and dropped; the connection stays usable).
    public func fetchMessage(_ folder: String, uid: UID, uidValidity: UIDValidity? = nil, maxBytes: Int? = nil) throws -> [UInt8] {
        try fetchOne(folder, uid: uid, section: "", uidValidity: uidValidity, maxBytes: maxBytes)
    }

    /// The message's header block including the blank line that ends it
    /// (`UID FETCH n (UID BODY.PEEK[HEADER])`); otherwise like `fetchMessage`.
    public func fetchHeader(_ folder: String, uid: UID, uidValidity: UIDValidity? = nil, maxBytes: Int? = nil) throws -> [UInt8] {
        try fetchOne(folder, uid: uid, section: "HEADER", uidValidity: uidValidity, maxBytes: maxBytes)
    }

    private func fetchOne(_ folder: String, uid: UID, section: String, uidValidity: UIDValidity?, maxBytes: Int?) throws -> [UInt8] {
        try perform { client in
            let status = try ensureSelected(client, folder)
            if let uidValidity, status.uidValidity != uidValidity {
                throw TransportError(.uidValidityChanged,
                                     detail: "\(folder): UIDVALIDITY is \(status.uidValidity), not \(uidValidity)")
            }
            var result: Result<[UInt8], TransportError>?
            try client.fetchSections([UIDSet([uid])], section: section, limit: maxBytes, depth: 1) { result = $1 }
            guard let result else { throw TransportError(.noSuchMessage, detail: "UID \(uid) does not exist") }
            return try result.get()
        }
    }

    /// Clears `\Seen`: `UID STORE set -FLAGS.SILENT (\Seen)` (RFC 3501 §6.4.6), 500 UIDs a command.
    public func removeSeenFlag(_ folder: String, uids: UIDSet) throws {
        try store(folder, uids: uids, "-FLAGS.SILENT (\\Seen)")
    }

    /// Sets `\Seen` (marks read): `UID STORE set +FLAGS.SILENT (\Seen)`, 500 UIDs a command.
    public func addSeenFlag(_ folder: String, uids: UIDSet) throws {
        try store(folder, uids: uids, "+FLAGS.SILENT (\\Seen)")
    }

    /// Sets exactly `flags` on the messages (`UID STORE set FLAGS.SILENT (…)`).
    public func replaceFlags(_ folder: String, uids: UIDSet, flags: [String]) throws {
        guard let list = IMAPCommand.flagList(flags) else {
            throw TransportError(.protocolError, detail: "invalid flag in \(flags)")
        }
        try store(folder, uids: uids, "FLAGS.SILENT \(list)")
    }

    private func store(_ folder: String, uids: UIDSet, _ change: String) throws {
        try perform { client in
            _ = try ensureSelected(client, folder, writable: true)
            for chunk in uids.chunked(maxCount: 500) {
                try client.execute(IMAPCommandLine("UID STORE \(chunk) \(change)"))
            }
        }
    }

    /// Appends a message (CRLF line ends expected) with its flags and, when given, its
    /// INTERNALDATE, in one `APPEND "folder" (flags) "date" {n}` (RFC 3501 §6.3.11); returns its
    /// UID when the server reports it (UIDPLUS `[APPENDUID]`, RFC 4315). The literal goes without
    /// waiting for the server with LITERAL+ (RFC 7888), else after its continuation request.
    /// A missing folder throws `.noSuchFolder` (`[TRYCREATE]`).
    @discardableResult
    public func append(_ folder: String, message: [UInt8], flags: [String] = ["\\Seen"], internalDate: Date? = nil) throws -> UID? {
        guard let list = IMAPCommand.flagList(flags) else {
            throw TransportError(.protocolError, detail: "invalid flag in \(flags)")
        }
        let date = internalDate.map { " " + IMAPDate.dateTime($0) } ?? ""
        return try perform(idempotent: false) { client in
            let mailbox = client.mailboxNames.quoted(folder)
            let command = IMAPCommandLine([.text("APPEND \(mailbox) \(list)\(date) "), .literal(message)])
            let stream = try client.execute(command, describe: "APPEND \(mailbox)")
            return try parse("APPEND") { try IMAPResponseParser.appendUID(stream) }?.1
        }
    }

    /// `CREATE "name"` (RFC 3501 §6.3.3); the name is sent in modified UTF-7, or in UTF-8 where
    /// the connection enabled UTF8=ACCEPT.
    public func createFolder(_ name: String) throws {
        try perform { try $0.execute(IMAPCommandLine("CREATE \($0.mailboxNames.quoted(name))")) }
    }

    /// Every mailbox of the account (`LIST "" "*"`, RFC 3501 §6.3.8), with attributes and the
    /// hierarchy delimiter, names decoded.
    public func listMailboxes() throws -> [MailboxListEntry] {
        try perform { client in
            let stream = try client.execute(IMAPCommandLine("LIST \"\" \"*\""))
            return try parse("LIST") { try IMAPResponseParser.listMailboxes(stream, names: client.mailboxNames) }
        }
    }

    /// The names of every selectable mailbox of the account.
    public func listFolders() throws -> [String] {
        try listMailboxes().filter(\.isSelectable).map(\.name)
    }
}
