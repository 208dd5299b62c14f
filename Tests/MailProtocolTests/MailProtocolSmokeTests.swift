import Testing
@testable import MailProtocol

@Test func MailProtocolModuleLinks() { #expect(Bool(true)) }
