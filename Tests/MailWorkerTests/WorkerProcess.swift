import Foundation
import MailTesting

/// `mailroom worker --until-idle` as a child process of a test (for SIGKILLs at chosen moments).
enum WorkerProcess {
    /// Starts a worker that polls `slug`'s accounts until idle, storing `batchSize` messages per
    /// transaction; its output is discarded. The caller waits for it or kills it.
    static func untilIdle(slug: String, batchSize: Int = 5) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MailroomBinary.path)
        p.arguments = ["worker", "--until-idle", "--tenant", slug, "--database-url", try TestDatabase.url(),
                       "--migrations", TestDatabase.migrationsDirectory, "--log-level", "error", "--batch-size", "\(batchSize)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}
