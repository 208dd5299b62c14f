/// Advisory-lock keys. Every key lives in Mailroom's namespace (the first of Postgres's two int4 key
/// halves), so our locks cannot collide with another application's on the same database (River's rule).
public enum AdvisoryLock {
    /// "MROM" as a big-endian int4: the namespace of every Mailroom advisory lock.
    public static let namespace: Int32 = 0x4D52_4F4D

    /// Held while migrations run: a second replica starting at the same time waits, then finds
    /// everything applied.
    public static let migrations: Int32 = 1
}
