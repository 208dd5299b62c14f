import Foundation
import Testing
@testable import MailProtocol

struct DateCase: Sendable, CustomStringConvertible {
    let text: String
    let epoch: TimeInterval?
    var description: String { text }
}

let dateCases: [DateCase] = [
    DateCase(text: "17-Jul-1996 02:44:25 -0700", epoch: 837_596_665),
    DateCase(text: " 1-Jan-2000 00:00:00 +0000", epoch: 946_684_800),
    DateCase(text: "29-Feb-2024 23:59:59 +0530", epoch: 1_709_231_399),
    DateCase(text: "01-dec-2026 01:41:36 +0000", epoch: 1_796_089_296),
    DateCase(text: "31-Foo-2024 00:00:00 +0000", epoch: nil),
    DateCase(text: "1-Jan-2000 00:00:00", epoch: nil),
    DateCase(text: "1-Jan-2000 25:00:00 +0000", epoch: nil),
]

@Test(arguments: dateCases)
func internalDateParses(_ example: DateCase) {
    #expect(IMAPDate.parseDateTime(example.text)?.timeIntervalSince1970 == example.epoch)
}

@Test func searchDateIsTheUTCDay() {
    #expect(IMAPDate.searchDate(Date(timeIntervalSince1970: 837_596_665)) == "17-Jul-1996")
    #expect(IMAPDate.searchDate(Date(timeIntervalSince1970: 946_684_799)) == "31-Dec-1999")
    #expect(IMAPDate.searchDate(Date(timeIntervalSince1970: 0)) == "1-Jan-1970")
    #expect(IMAPDate.searchDate(Date(timeIntervalSince1970: 1_709_164_800)) == "29-Feb-2024")
}
