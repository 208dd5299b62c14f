import Testing
@testable import MailDomain

@Test func MailDomainModuleLinks() { #expect(Bool(true)) }
