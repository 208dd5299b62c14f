import Testing
@testable import MailStore

@Test func MailStoreModuleLinks() { #expect(Bool(true)) }
