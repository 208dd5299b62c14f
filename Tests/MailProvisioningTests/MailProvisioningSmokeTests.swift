import Testing
@testable import MailProvisioning

@Test func MailProvisioningModuleLinks() { #expect(Bool(true)) }
