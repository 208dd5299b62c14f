import Testing
@testable import MailMIME

@Test func MailMIMEModuleLinks() { #expect(Bool(true)) }
