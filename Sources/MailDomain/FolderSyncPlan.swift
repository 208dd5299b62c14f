import Foundation
import MailCore

/// The mailbox sync decision, as a pure function of the stored cursor and what EXAMINE reported
/// (isync's model: state is `(uidvalidity, highest UID propagated)`; the engine never sees IMAP syntax).
public enum FolderSyncPlan: Sendable, Equatable {
    /// UIDNEXT shows nothing arrived since the cursor: fetch nothing.
    case upToDate
    /// List UIDs above `after` and import them.
    case fetchAfter(UID)
    /// First poll of this epoch: list messages since `since` (or all, when nil) and import them.
    case initial(since: Date?)
    /// The server's UIDVALIDITY differs from the stored one: every stored UID is void
    /// (RFC 3501 §2.3.1.1). Start a new epoch, then list as on a first poll; Message-ID dedupe keeps
    /// already-imported mail from duplicating.
    case newEpoch(previous: UIDValidity, current: UIDValidity, since: Date?)

    public struct Cursor: Sendable, Equatable {
        public var uidValidity: UIDValidity?
        public var lastUID: UID
        public init(uidValidity: UIDValidity?, lastUID: UID) {
            self.uidValidity = uidValidity
            self.lastUID = lastUID
        }
    }

    public static func decide(cursor: Cursor, serverValidity: UIDValidity, serverUIDNext: UID?, exists: Int,
                              fetchSince: Date?) -> FolderSyncPlan {
        guard let stored = cursor.uidValidity else { return .initial(since: fetchSince) }
        guard stored == serverValidity else {
            return .newEpoch(previous: stored, current: serverValidity, since: fetchSince)
        }
        if exists == 0 { return .upToDate }
        // UIDs are assigned ascending, so UIDNEXT - 1 bounds every UID present (RFC 3501 §2.3.1.1).
        if let next = serverUIDNext, next.rawValue > 0, next.rawValue - 1 <= cursor.lastUID.rawValue {
            return .upToDate
        }
        if cursor.lastUID.rawValue == 0 { return .initial(since: fetchSince) }
        return .fetchAfter(cursor.lastUID)
    }
}
