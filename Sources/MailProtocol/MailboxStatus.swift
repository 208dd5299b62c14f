import Foundation
import MailCore

/// What a client needs to decide whether a mailbox changed: from `SELECT`/`EXAMINE` response codes
/// (RFC 3501 §7.1, §7.3.1) or a `STATUS` response (§7.2.4).
public struct MailboxStatus: Sendable, Equatable {
    public var uidValidity: UIDValidity
    /// The UID the next message will get; `nil` when the server did not say (RFC 3501 requires it).
    public var uidNext: UID?
    /// The number of messages in the mailbox.
    public var exists: Int
    /// CONDSTORE's HIGHESTMODSEQ (RFC 7162 §3.1.2.1), when the server reports one.
    public var highestModSeq: UInt64?

    public init(uidValidity: UIDValidity, uidNext: UID?, exists: Int, highestModSeq: UInt64? = nil) {
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.exists = exists
        self.highestModSeq = highestModSeq
    }
}

/// The metadata of one message from `UID FETCH … (UID RFC822.SIZE FLAGS INTERNALDATE)`.
public struct MessageMetadata: Sendable, Equatable {
    public var uid: UID
    /// RFC822.SIZE: the message's size in octets, as the server counts it (CRLF line ends).
    public var size: Int
    /// Flags and keywords as the server spells them (`\Seen`, `$Forwarded`, …).
    public var flags: [String]
    public var internalDate: Date?

    public init(uid: UID, size: Int, flags: [String], internalDate: Date?) {
        self.uid = uid
        self.size = size
        self.flags = flags
        self.internalDate = internalDate
    }
}

/// One line of a `LIST` response (RFC 3501 §7.2.2), the name decoded from modified UTF-7.
public struct MailboxListEntry: Sendable, Equatable {
    public var name: String
    /// The hierarchy delimiter, `nil` for a flat namespace (`NIL`).
    public var delimiter: Character?
    /// Name attributes such as `\Noselect`, `\HasChildren`, `\Sent` (RFC 6154).
    public var attributes: [String]

    public init(name: String, delimiter: Character?, attributes: [String]) {
        self.name = name
        self.delimiter = delimiter
        self.attributes = attributes
    }

    /// `\Noselect` / `\NonExistent` mailboxes cannot be selected (RFC 3501 §7.2.2, RFC 5258).
    public var isSelectable: Bool {
        !attributes.contains { ["\\NOSELECT", "\\NONEXISTENT"].contains($0.uppercased()) }
    }
}

/// The result of an ESEARCH response (RFC 4731 §3.1).
public struct ESearchResult: Sendable, Equatable {
    public var min: UID?
    public var max: UID?
    public var count: Int?
    public var all: UIDSet?

    public init(min: UID? = nil, max: UID? = nil, count: Int? = nil, all: UIDSet? = nil) {
        self.min = min
        self.max = max
        self.count = count
        self.all = all
    }
}
