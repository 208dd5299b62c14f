import MailCore
import MailTesting

/// A tenant of the OAuth worker tests: one group account on a fresh Dovecot mailbox that logs in with
/// OAuth through the test token server (each suite decides whether it has a login yet).
struct OAuthSetup: Sendable {
    let f: WorkerFixture
    let tokens: TestTokenServer
    let tenant: TenantID
    let slug: String
    let account: AccountID
    let box: TestMailbox
}

extension OAuthMailboxTests { typealias Setup = OAuthSetup }
extension OAuthDeviceLoginTests { typealias Setup = OAuthSetup }
