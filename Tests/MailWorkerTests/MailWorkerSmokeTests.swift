import Testing
@testable import MailWorker

@Test func MailWorkerModuleLinks() { #expect(Bool(true)) }
