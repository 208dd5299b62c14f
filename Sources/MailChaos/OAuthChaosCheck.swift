import Foundation
import MailCore
import MailStore
import MailTesting

/// The OAuth invariants of a chaos run, read from the token server and the database afterwards:
/// no account's refresh token redeemed twice within half a token lifetime (one refresher per account,
/// whichever replicas polled it), no rotated-away refresh token ever presented again (no account lost to
/// one), every grant still active, and no poll that failed on its login (those of the account whose
/// grant the run revoked on purpose, `revoked`, are injected and counted apart).
enum OAuthChaosCheck {
    static func run(setup: ChaosSetup, tenant: ChaosTenant, tokens: TestTokenServer, lifetime: Double, revoked: AccountID? = nil) async throws
        -> (lines: [String], problems: [String]) {
        let (times, rotatedReuse) = try await tokens.refreshTimes()
        let users = Set(tenant.accounts.map(\.mailbox.address))
        var refreshes = 0, tooClose: [String] = [], minimumGap = Double.infinity
        for (user, stamps) in times where users.contains(user) {
            let sorted = stamps.sorted()
            refreshes += sorted.count
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                minimumGap = min(minimumGap, b - a)
                if b - a < lifetime / 2 { tooClose.append(user) }
            }
        }
        let id = tenant.id
        let (states, authErrors, injected) = try await setup.pool.transaction(tenant: id) { conn in
            let failed = try conn.query("""
                SELECT coalesce(f.account_id = \(revoked), false), count(*)
                FROM mail_poll_log l JOIN mail_folder f ON f.tenant_id = l.tenant_id AND f.id = l.folder_id
                WHERE l.error ILIKE '%authentication%' OR l.error ILIKE '%OAuth%' GROUP BY 1
                """).reduce(into: [Bool: Int]()) { $0[try $1.decode(Bool.self, at: 0)] = try $1.decode(Int.self, at: 1) }
            return (try conn.query("SELECT state, count(*) FROM oauth_grant GROUP BY state ORDER BY 1").map {
                "\(try $0.decode(String.self, at: 0)) \(try $0.decode(Int.self, at: 1))"
             }, failed[false] ?? 0, failed[true] ?? 0)
        }
        let lines = [
            "-- OAuth (\(tenant.accounts.count) accounts, \(Int(lifetime)) s tokens)",
            "refreshes                          \(refreshes), shortest gap for one account \(minimumGap.isFinite ? String(format: "%.1f s", minimumGap) : "-")",
            "rotated refresh tokens presented   \(rotatedReuse)",
            "grants                             \(states.joined(separator: ", "))",
            "polls failing on their login       \(authErrors)\(revoked == nil ? "" : " (and \(injected) of the revoked account, injected)")",
        ]
        var problems: [String] = []
        if !tooClose.isEmpty { problems.append("\(Set(tooClose).count) account(s) refreshed twice within half a token lifetime") }
        if rotatedReuse != 0 { problems.append("\(rotatedReuse) rotated-away refresh token(s) presented again") }
        if states != ["active \(tenant.accounts.count)"] { problems.append("OAuth grants not all active: \(states.joined(separator: ", "))") }
        if authErrors != 0 { problems.append("\(authErrors) poll(s) failed on their login") }
        return (lines, problems)
    }
}
