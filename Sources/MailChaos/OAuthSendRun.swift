import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting

/// The sending half of a chaos run with OAuth accounts: the feeder that queues mail on them, the
/// drill that revokes one grant mid-run, the recipient mailbox the mail goes to, and the final check.
struct OAuthSendRun: Sendable {
    let pool: PostgresPool
    let tenant: TenantID
    let feeder: OAuthSendFeeder
    let drill: RevocationDrill
    let recipientInbox: String

    /// Nil when the run has no OAuth tenant.
    static func make(setup: ChaosSetup, server: TestMailServer, key: SecretKey, tokens: TestTokenServer) async throws -> OAuthSendRun? {
        guard let oauth = setup.tenants.first(where: { $0.slug == "chaos-oauth" }), let revoked = oauth.accounts.first else { return nil }
        // Outside the run's accounts: its Maildir is not part of the import ledger.
        let recipient = try server.createMailbox(prefix: "chaos-sent")
        try server.createFolder(recipient, folder: "INBOX")
        let inbox = try server.doveadm(["mailbox", "path", "-u", recipient.address, "INBOX"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let tenant = oauth.id
        let (sender, accounts) = try await setup.pool.transaction(tenant: tenant) { conn in
            (try conn.query("SELECT id FROM app_user WHERE username = 'alice'").one().decode(Int64.self, at: 0),
             try conn.query("SELECT id, address FROM mail_account ORDER BY id").map {
                 (try $0.decode(AccountID.self, at: 0), try $0.decode(String.self, at: 1))
             })
        }
        guard let revokedID = accounts.first(where: { $0.1 == revoked.mailbox.address })?.0 else {
            throw ChaosError("no account for \(revoked.mailbox.address)")
        }
        let feeder = OAuthSendFeeder(pool: setup.pool, tenant: tenant, sender: sender, accounts: accounts.map(\.0),
                                     recipient: recipient.address)
        let drill = RevocationDrill(pool: setup.pool, tenant: tenant, account: revokedID, address: revoked.mailbox.address, tokens: tokens,
                                    keyring: try SecretKeyring(current: key), feeder: feeder, pollInterval: 10, tokenLifetime: 60)
        return OAuthSendRun(pool: setup.pool, tenant: tenant, feeder: feeder, drill: drill, recipientInbox: inbox)
    }

    /// Waits until no email is still `Sending`, or `seconds` pass.
    func settle(seconds: Int, event: (String) -> Void) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let tenant = self.tenant
        var last = -1
        while true {
            let sending = try await pool.transaction(tenant: tenant) {
                try $0.query("SELECT count(*) FROM email WHERE status = 'Sending'").one().decode(Int.self, at: 0)
            }
            if sending != last { event("waiting for sends: \(sending) email(s) still Sending"); last = sending }
            if sending == 0 || ContinuousClock.now >= deadline { return }
            try await Task.sleep(for: .seconds(1))
        }
    }

    func check(_ drill: RevocationDrill.Findings) async throws -> (lines: [String], problems: [String]) {
        var (lines, problems) = try await OAuthSendCheck.run(pool: pool, tenant: tenant, recipientInbox: recipientInbox,
                                                             revoked: self.drill.address)
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.1f s", $0) } ?? "-" }
        lines += [
            "-- Revoked grant (\(self.drill.address), revoked at \(seconds(drill.revokedAfter)) into the run)",
            "revocation to reauth_required      \(seconds(drill.delay)) (poll interval \(Int(self.drill.pollInterval)) s)",
            "queued mail waiting, with reason   \(drill.waitingCount): \(drill.waitingReason ?? "-")",
            "new login to waiting mail sent     \(seconds(drill.resumeDelay))",
        ]
        problems += drill.problems
        return (lines, problems)
    }
}
