import Testing
import Foundation
@testable import MailCore

@Test func secretNeverPrints() {
    let s = Secret("hunter2")
    #expect("\(s)" == "<redacted>")
    #expect(String(reflecting: s) == "<redacted>")
}

@Test func typedIdentifiersCompareByValue() {
    #expect(TenantID(1) < TenantID(2))
    #expect(UID(7).description == "7")
}

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
