import Foundation
import MailCore
import Testing
@testable import MailDomain

struct FolderSyncPlanTests {
    typealias Cursor = FolderSyncPlan.Cursor
    static let since = Date(timeIntervalSince1970: 1_767_225_600)

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var cursor: Cursor
        var validity: UInt32
        var uidNext: UInt32?
        var exists: Int
        var expected: FolderSyncPlan
        var description: String { name }
    }

    static let cases: [Case] = [
        .init(name: "first poll", cursor: .init(uidValidity: nil, lastUID: UID(0)), validity: 7, uidNext: 10, exists: 9,
              expected: .initial(since: since)),
        .init(name: "nothing new", cursor: .init(uidValidity: UIDValidity(7), lastUID: UID(9)), validity: 7, uidNext: 10, exists: 9,
              expected: .upToDate),
        .init(name: "cursor ahead of UIDNEXT-1 (expunged tail)", cursor: .init(uidValidity: UIDValidity(7), lastUID: UID(12)), validity: 7,
              uidNext: 10, exists: 3, expected: .upToDate),
        .init(name: "new mail", cursor: .init(uidValidity: UIDValidity(7), lastUID: UID(9)), validity: 7, uidNext: 12, exists: 11,
              expected: .fetchAfter(UID(9))),
        .init(name: "empty mailbox", cursor: .init(uidValidity: UIDValidity(7), lastUID: UID(0)), validity: 7, uidNext: 1, exists: 0,
              expected: .upToDate),
        .init(name: "epoch known but nothing imported yet", cursor: .init(uidValidity: UIDValidity(7), lastUID: UID(0)), validity: 7,
              uidNext: 5, exists: 4, expected: .initial(since: since)),
        .init(name: "no UIDNEXT reported", cursor: .init(uidValidity: UIDValidity(7), lastUID: UID(3)), validity: 7, uidNext: nil,
              exists: 4, expected: .fetchAfter(UID(3))),
        .init(name: "UIDVALIDITY changed", cursor: .init(uidValidity: UIDValidity(7), lastUID: UID(9)), validity: 8, uidNext: 3,
              exists: 2, expected: .newEpoch(previous: UIDValidity(7), current: UIDValidity(8), since: since)),
    ]

    @Test(arguments: cases)
    func decides(_ c: Case) {
        let plan = FolderSyncPlan.decide(cursor: c.cursor, serverValidity: UIDValidity(c.validity),
                                         serverUIDNext: c.uidNext.map(UID.init), exists: c.exists, fetchSince: Self.since)
        #expect(plan == c.expected)
    }
}

struct MessageIdentityTests {
    @Test func keepsARealIDWithoutBrackets() {
        let r = MessageIdentity.resolve(header: " <abc@example.com> ", digest: { "d" }, longIDDigest: { _ in "x" })
        #expect(r.id == "abc@example.com")
        #expect(!r.synthetic)
    }

    @Test func synthesisesFromTheDigestWhenMissingOrBlank() {
        for header in [nil, "", "<>", "  "] as [String?] {
            let r = MessageIdentity.resolve(header: header, digest: { "cafe" }, longIDDigest: { _ in "x" })
            #expect(r.id == "cafe@synthetic.mailroom.invalid")
            #expect(r.synthetic)
        }
    }

    @Test func trimsBracketsSpacesAndTabsOnlyAtTheEnds() {
        let r = MessageIdentity.resolve(header: "\t<<ünï cödé>x@example.com> \t", digest: { "d" }, longIDDigest: { _ in "x" })
        #expect(r.id == "ünï cödé>x@example.com")
        #expect(MessageIdentity.trimmingBrackets("<😀@example.com>") == "😀@example.com")
        #expect(MessageIdentity.trimmingBrackets("plain@example.com") == "plain@example.com")
    }

    @Test func shortensOverlongIDs() {
        let long = String(repeating: "a", count: 3000) + "@example.com"
        let r = MessageIdentity.resolve(header: long, digest: { "d" }, longIDDigest: { $0.count == long.count ? "beef" : "?" })
        #expect(r.id == "beef@long.synthetic.mailroom.invalid")
    }
}

struct RetryBackoffTests {
    @Test func doublesUpToTheCapWithinTheJitterBand() {
        let delays = (1...12).map { RetryBackoff.delay(attempt: $0, base: 5, cap: 3600, jitter: 0, unit: 0.5) }
        #expect(delays.prefix(4) == [5, 10, 20, 40])
        #expect(delays.last == 3600)
        for unit in [0.0, 0.5, 0.999] {
            let d = RetryBackoff.delay(attempt: 3, base: 5, cap: 3600, jitter: 0.2, unit: unit)
            #expect(d >= 16 && d <= 24)
        }
    }
}
