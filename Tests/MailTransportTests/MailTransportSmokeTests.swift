import Testing
@testable import MailTransport

@Test func MailTransportModuleLinks() { #expect(Bool(true)) }
