import MailCore

/// Advisory-lock keys. Every key lives in one of Mailroom's namespaces (the first of Postgres's two
/// int4 key halves), so our locks cannot collide with another application's on the same database
/// (River's rule).
public enum AdvisoryLock {
    /// "MROM" as a big-endian int4: the namespace of Mailroom's singleton locks.
    public static let namespace: Int32 = 0x4D52_4F4D
    /// "MROF": the namespace of per-folder locks; the second half is the folder id.
    public static let folderNamespace: Int32 = 0x4D52_4F46

    /// Held while migrations run: a second replica starting at the same time waits, then finds
    /// everything applied.
    public static let migrations: Int32 = 1
    /// Held by the replica that runs maintenance (rescue, prune, reconcile). A session lock: it passes
    /// to another replica the moment the holder's connection dies.
    public static let leader: Int32 = 2

    /// The second key half for a folder. Folder ids are identity values far below 2^31; beyond that the
    /// key wraps, which can only make two folders share a lock (slower, never unsafe).
    public static func folderKey(_ folder: FolderID) -> Int32 {
        Int32(truncatingIfNeeded: folder.rawValue)
    }
}

extension PostgresConnection {
    /// Tries the session-level lock; true when this session now holds it.
    public func tryAdvisoryLock(_ namespace: Int32, _ key: Int32) throws -> Bool {
        try query("SELECT pg_try_advisory_lock(\(namespace), \(key))").one().decode(Bool.self, at: 0)
    }

    public func advisoryUnlock(_ namespace: Int32, _ key: Int32) throws {
        try execute("SELECT pg_advisory_unlock(\(namespace), \(key))")
    }
}
