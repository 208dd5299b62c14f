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
