import Foundation
import MailCore
import MailStore
import MailTesting
import MailTransport
import Synchronization
import Testing
@testable import MailWorker

/// A clock the test moves by hand, for idle expiry and verification.
private final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    func advance(_ d: Duration) { instant.withLock { $0 += d } }
    var now: @Sendable () -> ContinuousClock.Instant { { [self] in instant.withLock { $0 } } }
}

/// `IMAPSessionCache` against the real Dovecot: connections kept between polls, expired, replaced on a
/// credential change and dropped after an error.
@Suite struct IMAPSessionCacheTests {
    private func cache(_ clock: ManualClock, maxIdle: Int = 8) -> IMAPSessionCache {
        var c = IMAPSessionCache.Configuration()
        c.maxIdle = maxIdle
        c.idleExpiry = .seconds(300)
        c.verifyAfter = .seconds(60)
        return IMAPSessionCache(c, now: clock.now)
    }

    /// True when the connection still works without opening a new TCP connection and login.
    private func reusesOpenConnection(_ c: IMAPConnection) async throws -> Bool {
        try await c.run { session in _ = try session.examine("INBOX"); return !session.lastCommandConnected }
    }

    private func isClosed(_ c: IMAPConnection) async -> Bool {
        do { _ = try await c.run { _ in true }; return false } catch { return true }
    }

    @Test func reusesTheLoggedInConnectionOfTheSameLogin() async throws {
        let server = try TestMailServer.fromEnvironment()
        let box = try server.createMailbox(prefix: "cache-reuse")
        let endpoint = server.endpoint(for: box)
        let clock = ManualClock()
        let sessions = cache(clock)
        let first = try await sessions.checkout(account: AccountID(1), endpoint: endpoint, threadName: "t")
        _ = try await first.run { try $0.examine("INBOX") }
        sessions.checkin(first, endpoint: endpoint)
        clock.advance(.seconds(30))

        // Another account with the same login gets the same connection, still logged in.
        let second = try await sessions.checkout(account: AccountID(2), endpoint: endpoint, threadName: "t")
        #expect(second === first)
        #expect(try await reusesOpenConnection(second))
        // While it is out, a concurrent poll of that login gets a connection of its own.
        let third = try await sessions.checkout(account: AccountID(1), endpoint: endpoint, threadName: "t")
        #expect(third !== first)
        sessions.checkin(second, endpoint: endpoint)
        sessions.checkin(third, endpoint: endpoint)
        #expect(sessions.stats == .init(reused: 1, opened: 2, idle: 2))

        // Idle past verifyAfter: NOOP proves it alive, and it is handed out again.
        clock.advance(.seconds(90))
        let verified = try await sessions.checkout(account: AccountID(1), endpoint: endpoint, threadName: "t")
        #expect(verified === first || verified === third)
        #expect(try await reusesOpenConnection(verified))
        sessions.checkin(verified, endpoint: endpoint)
        sessions.closeAll()
    }

    @Test func closesConnectionsIdleLongerThanTheExpiryAndBeyondTheLimit() async throws {
        let server = try TestMailServer.fromEnvironment()
        let a = server.endpoint(for: try server.createMailbox(prefix: "cache-expire"))
        let b = server.endpoint(for: try server.createMailbox(prefix: "cache-expire"))
        let clock = ManualClock()
        let sessions = cache(clock, maxIdle: 1)
        let ca = try await sessions.checkout(account: AccountID(1), endpoint: a, threadName: "t")
        let cb = try await sessions.checkout(account: AccountID(2), endpoint: b, threadName: "t")
        _ = try await ca.run { try $0.examine("INBOX") }
        _ = try await cb.run { try $0.examine("INBOX") }
        sessions.checkin(ca, endpoint: a)
        clock.advance(.seconds(1))
        sessions.checkin(cb, endpoint: b)  // over the limit of one: the longest idle (a) goes
        #expect(await isClosed(ca))
        #expect(!(await isClosed(cb)))
        #expect(sessions.stats.evicted == 1)

        clock.advance(.seconds(301))
        sessions.closeExpired()
        #expect(await isClosed(cb))
        #expect(sessions.stats.expired == 1)
        #expect(sessions.stats.idle == 0)
        let fresh = try await sessions.checkout(account: AccountID(2), endpoint: b, threadName: "t")
        #expect(fresh !== cb)
        #expect(sessions.stats.opened == 3)
        _ = try await fresh.run { try $0.examine("INBOX") }
        fresh.close()
    }

    @Test func aChangedPasswordClosesTheConnectionsOfTheOldLogin() async throws {
        let server = try TestMailServer.fromEnvironment()
        let box = try server.createMailbox(prefix: "cache-cred")
        let old = server.endpoint(for: box)
        var changed = old
        changed.password = Secret(box.password + "-rotated")
        let clock = ManualClock()
        let sessions = cache(clock)
        let c = try await sessions.checkout(account: AccountID(7), endpoint: old, threadName: "t")
        _ = try await c.run { try $0.examine("INBOX") }
        sessions.checkin(c, endpoint: old)

        let next = try await sessions.checkout(account: AccountID(7), endpoint: changed, threadName: "t")
        #expect(next !== c)
        #expect(await isClosed(c))
        #expect(sessions.stats.invalidated == 1)
        // The new password is wrong on this server: the new connection really logs in again.
        await #expect(throws: TransportError.self) { try await next.run { try $0.examine("INBOX") } }
        sessions.discard(next)
        #expect(sessions.stats.idle == 0)
    }

    @Test func pollsReuseTheConnectionSeeNewMailAndDropItAfterAnError() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "cache-poll")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "c1@initech.test", subject: "one", body: "1\n")])
        let other = try f.server.createMailbox(prefix: "cache-poll")
        let (tenant, _) = try await f.tenant("cachepoll", accounts: [.init(name: "Support", mailbox: box),
                                                                     .init(name: "Broken", mailbox: other, password: "wrong")])
        let sessions = IMAPSessionCache()
        let base = f.runner()
        let runner = ImportRunner(pool: f.pool, secrets: base.secrets, settings: base.settings, logger: base.logger,
                                  sessions: sessions)
        let accounts = try await f.query(tenant) { try MailAccountQueries.mailAccountListPollable($0, tenant: tenant) }
        let support = try #require(accounts.first { $0.name == "Support" })
        let broken = try #require(accounts.first { $0.name == "Broken" })

        #expect(await runner.pollAccount(support).map(\.imported) == [1])
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "c2@initech.test", subject: "two", body: "2\n")])
        // The kept connection re-selects INBOX and sees the message delivered since.
        #expect(await runner.pollAccount(support).map(\.imported) == [1])
        #expect(await runner.pollAccount(support).map(\.imported) == [0])
        #expect(sessions.stats.opened == 1)
        #expect(sessions.stats.reused == 2)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 2)
        #expect(try await f.count(tenant, "SELECT count(*) FROM mail_folder WHERE uidnext = 3 AND last_error IS NULL") == 1)

        // A failed login: the connection is closed, not kept.
        let failed = await runner.pollAccount(broken)
        #expect(failed.allSatisfy { $0.error != nil })
        #expect(sessions.stats.discarded == 1)
        #expect(sessions.stats.idle == 1)  // only Support's
        sessions.closeAll()
    }
}
