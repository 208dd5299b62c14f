import MailCore
import Testing
@testable import MailProtocol

private func uids(_ values: [UInt32]) -> [UID] { values.map(UID.init) }

struct UIDSetCase: Sendable, CustomStringConvertible {
    let input: [UInt32]
    let rendered: String
    var description: String { rendered }
}

let uidSetCases: [UIDSetCase] = [
    UIDSetCase(input: [], rendered: ""),
    UIDSetCase(input: [7], rendered: "7"),
    UIDSetCase(input: [1, 2, 3, 4, 5, 7, 9, 10, 11, 12], rendered: "1:5,7,9:12"),
    UIDSetCase(input: [12, 9, 5, 4, 3, 2, 1, 7, 11, 10, 3], rendered: "1:5,7,9:12"),
    UIDSetCase(input: [4_294_967_294, 4_294_967_295, 1], rendered: "1,4294967294:4294967295"),
]

@Test(arguments: uidSetCases)
func uidSetRendersCompactRanges(_ example: UIDSetCase) throws {
    let set = UIDSet(uids(example.input))
    #expect(set.description == example.rendered)
    #expect(Array(set) == uids(Array(Set(example.input)).sorted()))
    #expect(set.count == Set(example.input).count)
    if !example.rendered.isEmpty { #expect(try UIDSet(parsing: example.rendered) == set) }
}

@Test func uidSetParsesReversedAndOverlappingRanges() throws {
    #expect(try UIDSet(parsing: "5:1,3,9:7,10").description == "1:5,7:10")
}

@Test(arguments: ["", "1:*", "0", "a", "1::2", "1,,2", "4294967296"])
func uidSetRejects(_ text: String) {
    #expect(throws: IMAPProtocolError.self) { try UIDSet(parsing: text) }
}

@Test func uidSetContainsAndInsert() {
    var set = UIDSet(uids([1, 2, 3, 10, 20, 21]))
    #expect(set.contains(UID(2)) && set.contains(UID(10)) && set.contains(UID(21)))
    #expect(!set.contains(UID(4)) && !set.contains(UID(22)) && !set.contains(UID(9)))
    set.insert(UID(4))
    #expect(set.description == "1:4,10,20:21")
    #expect(set.min == UID(1) && set.max == UID(21))
}

@Test func uidSetChunksAcrossRanges() {
    let set = UIDSet(uids(Array(1...5) + [7] + Array(9...12)))
    #expect(set.chunked(maxCount: 3).map(\.description) == ["1:3", "4:5,7", "9:11", "12"])
    #expect(set.chunked(maxCount: 25).map(\.description) == ["1:5,7,9:12"])
    let big = UIDSet(UID(1)...UID(100))
    let chunks = big.chunked(maxCount: 25)
    #expect(chunks.count == 4 && chunks.allSatisfy { $0.count == 25 })
    #expect(chunks.flatMap { Array($0) } == Array(big))
    #expect(UIDSet(UID(4_294_967_290)...UID(4_294_967_295)).chunked(maxCount: 4).map(\.description)
        == ["4294967290:4294967293", "4294967294:4294967295"])
}
