import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

extension WorkerProcessTests {
    /// A worker killed with SIGKILL at random moments loses and duplicates nothing.
    @Suite(.serialized) struct CrashRecoveryTests {
        func worker(slug: String, batchSize: Int = 1) throws -> Process {
            try WorkerProcess.untilIdle(slug: slug, batchSize: batchSize)
        }

        @Test func sigkillAtRandomMomentsLosesAndDuplicatesNothing() async throws {
            try #require(FileManager.default.isExecutableFile(atPath: MailroomBinary.path), "mailroom binary not built at \(MailroomBinary.path)")
            let f = try await WorkerFixture.make()
            let box = try f.server.createMailbox(prefix: "crash")
            let count = 800
            let messages = (1...count).map {
                TestMessages.plain(id: "crash-\($0)@x.test", subject: "Crash \($0)", body: String(repeating: "line \($0)\n", count: $0 % 40 + 1))
            }
            let (tenant, slug) = try await f.tenant("crash", accounts: [.init(name: "Support", mailbox: box)])
            var kills = 0
            var killedMidImport = 0
            // One message per transaction and 800 of them make the import long enough that most of the
            // 20 kills land while messages are being fetched and stored, even when the test notices the
            // first commit late on a loaded machine (with 500 in pairs, a full suite once saw the third
            // run import everything before it could kill it).
            try f.server.deliverToMaildir(box, messages: messages)
            for _ in 0..<20 {
                let before = try await f.count(tenant, "SELECT count(*) FROM email")
                let p = try worker(slug: slug)
                // Kill once this run has stored something (so the kill lands mid-import whatever the
                // machine's speed), or when it has run for 5 s.
                _ = try await Eventually.until(timeout: .seconds(5)) {
                    if !p.isRunning { return true }
                    return try await f.count(tenant, "SELECT count(*) FROM email") != before
                }
                if p.isRunning {
                    kill(p.processIdentifier, SIGKILL)
                    kills += 1
                    p.waitUntilExit()
                    let after = try await f.count(tenant, "SELECT count(*) FROM email")
                    if after > before && after < count { killedMidImport += 1 }
                }
                p.waitUntilExit()
            }
            let last = try worker(slug: slug)
            last.waitUntilExit()
            #expect(last.terminationStatus == 0)
            print("crash test: \(kills) of 20 runs killed, \(killedMidImport) after storing part of the mail")
            #expect(kills >= 5, "runs must have been killed (killed \(kills) of 20)")
            #expect(killedMidImport >= 3, "some kills must land after part of a batch set was stored (\(killedMidImport))")
            #expect(try await f.count(tenant, "SELECT count(*) FROM email") == count)
            #expect(try await f.count(tenant, "SELECT count(DISTINCT message_id) FROM email") == count)
            #expect(try await f.count(tenant, "SELECT count(*) FROM email_account_link") == count)
            #expect(try await f.count(tenant, "SELECT count(*) FROM import_failure") == 0)
            #expect(try await f.count(tenant, "SELECT last_uid FROM mail_folder") == count)
        }
    }
}
