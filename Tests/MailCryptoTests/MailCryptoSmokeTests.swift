import Testing
@testable import MailCrypto

@Test func MailCryptoModuleLinks() { #expect(Bool(true)) }
