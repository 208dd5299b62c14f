import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting

/// The revoked grant of a chaos run: mid-run one OAuth account's consent is withdrawn at the token
/// server; the account must reach `reauth_required` by its next token refresh plus one poll interval
/// (within one poll interval when a new login comes first), and mail queued on it
/// must wait, saying why. Later a new login (a fresh grant stored as `mailroom oauth login` would)
/// must send that mail at once and let polling catch up, so the exactly-once checks cover it too.
struct RevocationDrill: Sendable {
    struct Findings: Sendable {
        var revokedAfter: Double?
        /// Revocation to `reauth_required`, from the grant's `state_changed_at`.
        var delay: Double?
        var waitingReason: String?
        var waitingCount = 0
        /// New login to every waiting email sent.
        var resumeDelay: Double?
        var problems: [String] = []
    }

    let pool: PostgresPool
    let tenant: TenantID
    let account: AccountID
    let address: String
    let tokens: TestTokenServer
    let keyring: SecretKeyring
    let feeder: OAuthSendFeeder
    let pollInterval: Double
    let tokenLifetime: Int

    /// Revokes at `revokeAt` after `started`, logs in again at `loginAt`.
    func run(started: ContinuousClock.Instant, revokeAt: Duration, loginAt: Duration, event: @Sendable (String) -> Void) async -> Findings {
        var f = Findings()
        do {
            try await Task.sleep(until: started + revokeAt)
            let revokedAt = Date()
            try await tokens.revoke(address)
            f.revokedAfter = (ContinuousClock.now - started).seconds
            event("revoked the OAuth grant of \(address) at the token server")

            // The worker learns of it at the account's next poll: the server refuses the token, the
            // forced refresh gets invalid_grant.
            let changedAt: Date? = try await poll(for: 10 * pollInterval) {
                try await self.grant().state == "reauth_required" ? try await self.grant().changedAt : nil
            }
            guard let changedAt else {
                f.problems.append("revoked account not in reauth_required within \(Int(10 * pollInterval)) s")
                return f
            }
            f.delay = changedAt.timeIntervalSince(revokedAt)
            event(String(format: "revoked account in reauth_required after %.1f s", f.delay!))
            // A kept session stays logged in until its token is refreshed (at 4/5 of its lifetime), so
            // the bound the worker can keep is that refresh plus one poll; within one poll interval
            // (the issue's wish) it holds only when a new login comes first (docs/benchmarks.md).
            let bound = 0.8 * Double(tokenLifetime) + pollInterval + 2
            if f.delay! > bound {
                f.problems.append(String(format: "revoked account reached reauth_required after %.1f s, beyond 4/5 of a token lifetime plus one poll interval (%.0f s)",
                                         f.delay!, bound))
            } else if f.delay! > pollInterval {
                event(String(format: "revocation noticed after %.1f s: more than one poll interval (%.0f s), within the refresh-plus-poll bound (%.0f s)",
                             f.delay!, pollInterval, bound))
            }

            // Mail queued now waits, visibly.
            var queued: [Int64] = []
            for i in 1...3 { queued.append(try await feeder.queue(on: account, subject: "chaos send while revoked \(i)")) }
            let waiting = queued
            let reasons: [String]? = try await poll(for: 60) {
                let rows = try await self.emails(waiting)
                let shown = rows.filter { $0.status == "Sending" && ($0.error ?? "").contains("waiting for a new login") }
                return shown.count == waiting.count ? shown.compactMap(\.error) : nil
            }
            if let reasons {
                f.waitingCount = reasons.count
                f.waitingReason = reasons.first
                event("mail on the revoked account waits: \(reasons.first ?? "")")
            } else {
                f.problems.append("mail queued on the revoked account did not show that it waits for a new login within 60 s")
            }

            try await Task.sleep(until: started + loginAt)
            let grant = try await tokens.makeUser(address, ttl: tokenLifetime)
            let loggedIn = ContinuousClock.now
            try await pool.transaction(tenant: tenant) { [account, keyring, tenant] conn in
                try TestOAuth.storeLogin(conn, tenant: tenant, account: account, grant: grant, keyring: keyring)
            }
            event("new OAuth login stored for \(address)")
            let sent: Bool? = try await poll(for: 120) {
                try await self.emails(waiting).allSatisfy { $0.status == "Sent" } ? true : nil
            }
            if sent == true {
                f.resumeDelay = (ContinuousClock.now - loggedIn).seconds
                event(String(format: "mail that waited sent %.1f s after the new login", f.resumeDelay!))
            } else {
                f.problems.append("mail that waited for the new login was not sent within 120 s of it")
            }
        } catch {
            f.problems.append("revocation drill failed: \(error)")
        }
        return f
    }

    private func grant() async throws -> (state: String, changedAt: Date) {
        let (tenant, account) = (self.tenant, self.account)
        return try await pool.transaction(tenant: tenant) { conn in
            let row = try conn.query("SELECT state, state_changed_at FROM oauth_grant WHERE account_id = \(account)").one()
            return (try row.decode(at: 0), try row.decode(at: 1))
        }
    }

    private func emails(_ ids: [Int64]) async throws -> [(status: String, error: String?)] {
        let tenant = self.tenant
        return try await pool.transaction(tenant: tenant) { conn in
            try conn.query("SELECT status, send_error FROM email WHERE id = ANY(\(PostgresArray(ids))::bigint[])").map {
                (try $0.decode(at: 0), try $0.decode(at: 1))
            }
        }
    }

    /// Asks `probe` every half second until it answers or `seconds` pass; a failing probe (PostgreSQL
    /// restarting) counts as no answer yet.
    private func poll<T: Sendable>(for seconds: Double, _ probe: @Sendable () async throws -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let value = try? await probe() { return value }
            try await Task.sleep(for: .milliseconds(500))
        }
        return nil
    }
}
