import Foundation
import Synchronization
import MailTesting
import Testing
@testable import MailIO

@Test func ioThreadRunsOffThePoolInOrder() async throws {
    let t = IOThread(name: "test-io")
    let first = try await t.run { UInt(pthread_self()) }
    let second = try await t.run { UInt(pthread_self()) }
    #expect(first == second, "every job runs on the one dedicated thread")
    #expect(try await t.run { Thread.isMainThread } == false)
    var seen: [Int] = []
    for i in 0..<5 { seen.append(try await t.run { i }) }
    #expect(seen == [0, 1, 2, 3, 4])
    struct Boom: Error {}
    await #expect(throws: Boom.self) { try await t.run { throw Boom() } }
    t.stop()
}

/// A job handed to a thread that has exited is refused with an error, never left waiting: a task
/// awaiting it would otherwise hang forever. The `finally` body of `stop` runs exactly once.
@Test func ioThreadRefusesJobsAfterItExited() async throws {
    let t = IOThread(name: "test-io-stop")
    let freed = Mutex(0)
    t.stop { freed.withLock { $0 += 1 } }
    // Wait until the loop has exited (submitting nothing meanwhile, which would keep it draining).
    #expect(try await Eventually.until(timeout: .seconds(30)) { t.hasExited })
    await #expect(throws: IOThreadStopped.self) { try await t.run { 1 } }
    #expect(throws: IOThreadStopped.self) { try t.runSync { 1 } }
    t.stop { freed.withLock { $0 += 1 } }
    #expect(freed.withLock { $0 } == 2, "each stop's body ran once: the second on the caller")
}
