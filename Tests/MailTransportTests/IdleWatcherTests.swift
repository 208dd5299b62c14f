import Foundation
import MailCore
import MailProtocol
import MailTesting
import Synchronization
import Testing
@testable import MailTransport

/// What a watcher reported, per key, in order.
final class IdleEventLog: Sendable {
    private let events = Mutex<[(key: String, event: IdleWatcher<String>.Event, at: ContinuousClock.Instant)]>([])

    func record(_ key: String, _ event: IdleWatcher<String>.Event) {
        events.withLock { $0.append((key, event, .now)) }
    }

    func all(_ key: String) -> [IdleWatcher<String>.Event] { events.withLock { $0.filter { $0.key == key }.map(\.event) } }

    func count(_ key: String, _ matches: (IdleWatcher<String>.Event) -> Bool) -> Int {
        all(key).filter(matches).count
    }

    /// When the first event after `since` that `matches` arrived.
    func first(_ key: String, after since: ContinuousClock.Instant,
               _ matches: (IdleWatcher<String>.Event) -> Bool) -> ContinuousClock.Instant? {
        events.withLock { $0.first { $0.key == key && $0.at >= since && matches($0.event) }?.at }
    }

    static func isWatching(_ event: IdleWatcher<String>.Event) -> Bool {
        if case .watching = event { return true }
        return false
    }

    static func isLost(_ event: IdleWatcher<String>.Event) -> Bool {
        if case .lost = event { return true }
        return false
    }
}

@Suite(.serialized) struct IdleWatcherTests {
    let server: TestMailServer

    init() throws {
        server = try TestMailServer.fromEnvironment()
    }

    /// A watcher recording into `log`; `timing` short enough for tests where they need it.
    func watcher(_ log: IdleEventLog, timing: IdleCycle.Timing = IdleCycle.Timing(),
                 name: String = "idle-test") throws -> IdleWatcher<String> {
        try IdleWatcher(settings: .init(timing: timing, reconnectAfter: .milliseconds(200), reconnectAtMost: .seconds(2)),
                        name: name) { log.record($0, $1) }
    }

    /// A watcher with one watch, "a", through `endpoint`, once its IDLE runs.
    func watching(_ endpoint: IMAPEndpoint, timing: IdleCycle.Timing = IdleCycle.Timing()) async throws
        -> (IdleEventLog, IdleWatcher<String>)
    {
        let log = IdleEventLog()
        let watcher = try watcher(log, timing: timing)
        watcher.watch("a", endpoint: endpoint)
        let running = try await Eventually.until(timeout: .seconds(20)) { log.count("a", IdleEventLog.isWatching) == 1 }
        #expect(running, "\(log.all("a"))")
        return (log, watcher)
    }

    /// Appends a message to INBOX over a separate connection, as another client's delivery.
    func deliver(_ mailbox: TestMailbox, subject: String) async throws {
        let connection = try await IMAPConnection(endpoint: server.endpoint(for: mailbox))
        defer { connection.close() }
        let message = testMessage(subject: subject)
        try await connection.run { _ = try $0.append("INBOX", message: message, flags: []) }
    }

    func endpoint(_ mailbox: TestMailbox, through proxy: FaultProxy, security: TransportSecurity = .starttls) -> IMAPEndpoint {
        var endpoint = server.endpoint(for: mailbox, security: security)
        endpoint.port = proxy.port
        return endpoint
    }

    @Test(arguments: [TransportSecurity.starttls, .tls])
    func deliveryWakesTheWatchWithinASecond(security: TransportSecurity) async throws {
        let mailbox = try server.createMailbox(prefix: "idle-wake")
        defer { try? server.removeMailbox(mailbox) }
        let (log, watcher) = try await watching(server.endpoint(for: mailbox, security: security))
        defer { watcher.shutdown() }
        #expect(log.all("a") == [.watching(reconnected: false)])

        // The delivering client logs in first: the clock starts with its APPEND.
        let sender = try await IMAPConnection(endpoint: server.endpoint(for: mailbox))
        defer { sender.close() }
        try await sender.run { try $0.noop() }
        let message = testMessage(subject: "wake")
        let started = ContinuousClock.now
        try await sender.run { _ = try $0.append("INBOX", message: message, flags: []) }
        #expect(try await Eventually.until(timeout: .seconds(10)) { log.count("a") { $0 == .changed } >= 1 })
        let woken = try #require(log.first("a", after: started) { $0 == .changed })
        #expect(woken - started < .seconds(1), "EXISTS reached the watcher \(woken - started) after the APPEND began")
    }

    @Test func oauthLoginWatchesToo() async throws {
        let tokens = try TestTokenServer.fromEnvironment()
        let mailbox = try server.createMailbox(prefix: "idle-oauth")
        defer { try? server.removeMailbox(mailbox) }
        let grant = try await tokens.makeUser(mailbox.address)
        let (log, watcher) = try await watching(OAuthLoginTests.imapEndpoint(server, mailbox, token: grant.accessToken))
        defer { watcher.shutdown() }
        try await deliver(mailbox, subject: "oauth")
        #expect(try await Eventually.until(timeout: .seconds(10)) { log.count("a") { $0 == .changed } >= 1 })
    }

    @Test func refusedLoginIsRetriedAndNeverShowsThePassword() async throws {
        let mailbox = try server.createMailbox(prefix: "idle-refused")
        defer { try? server.removeMailbox(mailbox) }
        let wrong = Secret("Wrong-\(UUID().uuidString)")
        var endpoint = server.endpoint(for: mailbox)
        endpoint.password = wrong
        let log = IdleEventLog()
        let watcher = try watcher(log)
        defer { watcher.shutdown() }
        watcher.watch("a", endpoint: endpoint)
        // Dovecot answers a failed login after its auth_failure_delay (2 s).
        #expect(try await Eventually.until(timeout: .seconds(30)) { log.count("a", IdleEventLog.isLost) >= 2 },
                "\(log.all("a"))")
        for event in log.all("a") {
            guard case .lost(let reason) = event else {
                Issue.record("unexpected \(event)")
                continue
            }
            #expect(reason.contains("authenticationFailed"), "\(reason)")
            #expect(!reason.contains(wrong.value) && !reason.contains(mailbox.password))
        }
        #expect(watcher.idlingKeys.isEmpty)
    }

    @Test func renewedIdleLosesNoChange() async throws {
        let mailbox = try server.createMailbox(prefix: "idle-renew")
        defer { try? server.removeMailbox(mailbox) }
        let timing = IdleCycle.Timing(renewAfter: .milliseconds(500), probeAfterSilence: .seconds(60), answerWithin: .seconds(5))
        let (log, watcher) = try await watching(server.endpoint(for: mailbox), timing: timing)
        defer { watcher.shutdown() }
        // Deliveries land at different points of the renewal cycle (IDLE, after DONE, before `+`).
        for round in 1...6 {
            try await deliver(mailbox, subject: "renew \(round)")
            let seen = try await Eventually.until(timeout: .seconds(10)) { log.count("a") { $0 == .changed } >= round }
            #expect(seen, "delivery \(round) woke nothing: \(log.all("a"))")
        }
        #expect(watcher.renewals >= 3, "renewed \(watcher.renewals) times")
        #expect(log.count("a", IdleEventLog.isLost) == 0, "\(log.all("a"))")
        #expect(log.count("a", IdleEventLog.isWatching) == 1)
    }

    @Test func kickedConnectionIsReplacedAndWatchedAgain() async throws {
        let mailbox = try server.createMailbox(prefix: "idle-kick")
        defer { try? server.removeMailbox(mailbox) }
        let (log, watcher) = try await watching(server.endpoint(for: mailbox))
        defer { watcher.shutdown() }
        _ = try server.doveadm(["kick", mailbox.address])
        #expect(try await Eventually.until(timeout: .seconds(20)) { log.count("a", IdleEventLog.isWatching) == 2 },
                "\(log.all("a"))")
        #expect(log.all("a").prefix(3).map(IdleEventLog.isLost) == [false, true, false], "\(log.all("a"))")
        #expect(log.all("a").last == .watching(reconnected: true))
        try await deliver(mailbox, subject: "after kick")
        #expect(try await Eventually.until(timeout: .seconds(10)) { log.count("a") { $0 == .changed } >= 1 })
    }

    @Test func stalledConnectionIsDetectedWithinItsBoundAndReplaced() async throws {
        let mailbox = try server.createMailbox(prefix: "idle-stall")
        defer { try? server.removeMailbox(mailbox) }
        let proxy = try FaultProxy(upstreamPort: server.imapPort)
        defer { proxy.close() }
        let timing = IdleCycle.Timing(renewAfter: .seconds(60), probeAfterSilence: .seconds(1), answerWithin: .seconds(1))
        let (log, watcher) = try await watching(endpoint(mailbox, through: proxy), timing: timing)
        defer { watcher.shutdown() }

        let stalled = ContinuousClock.now
        proxy.stall()
        #expect(try await Eventually.until(timeout: .seconds(10)) { log.count("a", IdleEventLog.isLost) >= 1 })
        let noticed = try #require(log.first("a", after: stalled, IdleEventLog.isLost))
        // The last byte came at most when the stall began; scheduling slack on a loaded machine.
        #expect(noticed - stalled <= timing.stallBound + .milliseconds(500),
                "noticed after \(noticed - stalled), bound \(timing.stallBound)")
        proxy.resume()
        #expect(try await Eventually.until(timeout: .seconds(20)) { log.all("a").last == .watching(reconnected: true) },
                "\(log.all("a"))")
        try await deliver(mailbox, subject: "after stall")
        #expect(try await Eventually.until(timeout: .seconds(10)) { log.count("a") { $0 == .changed } >= 1 })
    }

    @Test func cutConnectionIsReplaced() async throws {
        let mailbox = try server.createMailbox(prefix: "idle-cut")
        defer { try? server.removeMailbox(mailbox) }
        let proxy = try FaultProxy(upstreamPort: server.imapsPort)
        defer { proxy.close() }
        let (log, watcher) = try await watching(endpoint(mailbox, through: proxy, security: .tls))
        defer { watcher.shutdown() }
        proxy.cut()
        #expect(try await Eventually.until(timeout: .seconds(20)) { log.count("a", IdleEventLog.isWatching) == 2 },
                "\(log.all("a"))")
        #expect(proxy.acceptedConnections == 2)
        #expect(log.count("a", IdleEventLog.isLost) == 1)
    }

    @Test func serverWithoutIdleIsReportedAndKeepsNoConnection() async throws {
        let mailbox = try server.createMailbox(prefix: "idle-none")
        defer { try? server.removeMailbox(mailbox) }
        // Plain IMAP (loopback is an insecure host in the test policy) so the proxy can read and
        // strip IDLE from every capability list.
        let proxy = try FaultProxy(upstreamPort: server.imapPort, hidingCapability: "IDLE")
        defer { proxy.close() }
        let log = IdleEventLog()
        let watcher = try watcher(log)
        defer { watcher.shutdown() }
        watcher.watch("a", endpoint: endpoint(mailbox, through: proxy, security: .none))
        #expect(try await Eventually.until(timeout: .seconds(20)) { !log.all("a").isEmpty })
        #expect(log.all("a") == [.unsupported])
        #expect(try await Eventually.until(timeout: .seconds(5)) { proxy.openConnections == 0 })
        #expect(watcher.idlingKeys.isEmpty)
    }

    @Test func unwatchClosesTheConnectionWithinASecond() async throws {
        let mailbox = try server.createMailbox(prefix: "idle-unwatch")
        defer { try? server.removeMailbox(mailbox) }
        let proxy = try FaultProxy(upstreamPort: server.imapsPort)
        defer { proxy.close() }
        let (log, watcher) = try await watching(endpoint(mailbox, through: proxy, security: .tls))
        defer { watcher.shutdown() }
        #expect(proxy.openConnections == 1)
        let removed = ContinuousClock.now
        watcher.unwatch("a")
        #expect(try await Eventually.until(timeout: .seconds(5)) { proxy.openConnections == 0 })
        #expect(ContinuousClock.now - removed < .seconds(1))
        #expect(watcher.idlingKeys.isEmpty)
        #expect(log.all("a") == [.watching(reconnected: false)], "no event after unwatch")
    }

    @Test func twoHundredWatchesShareOneLoopThread() async throws {
        let count = 200
        let mailboxes = try (0..<count).map { _ in try server.createMailbox(prefix: "idle-many") }
        defer { for mailbox in mailboxes { try? server.removeMailbox(mailbox) } }
        let log = IdleEventLog()
        let name = "idle-many-\(UUID().uuidString.prefix(4))"
        let watcher = try watcher(log, name: name)
        defer { watcher.shutdown() }
        watcher.watch("0", endpoint: server.endpoint(for: mailboxes[0]))
        #expect(try await Eventually.until(timeout: .seconds(20)) { watcher.idlingKeys.count == 1 })
        let threadsWithOne = ProcessThreads.count()
        for index in 1..<count {
            watcher.watch("\(index)", endpoint: server.endpoint(for: mailboxes[index]))
        }
        #expect(try await Eventually.until(timeout: .seconds(120), interval: .milliseconds(100)) {
            watcher.idlingKeys.count == count
        }, "\(watcher.idlingKeys.count) of \(count) idling")
        // The watcher's own threads: the loop and its two set-up threads, whatever the count.
        #expect(ProcessThreads.named(prefix: name) == 3)
        // Other suites run meanwhile and start threads of their own: allow them a few, not 199.
        let threadsWithAll = ProcessThreads.count()
        #expect(threadsWithAll - threadsWithOne < 20, "\(threadsWithOne) threads with 1 watch, \(threadsWithAll) with \(count)")

        let target = mailboxes[count / 2]
        try await deliver(target, subject: "one of many")
        #expect(try await Eventually.until(timeout: .seconds(10)) { log.count("\(count / 2)") { $0 == .changed } >= 1 })
        #expect(log.count("\(count / 2 + 1)") { $0 == .changed } == 0)
    }
}

/// The threads of this process, from /proc/self/task (Linux).
enum ProcessThreads {
    static func count() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    /// Threads whose name (`comm`, at most 15 bytes) starts with the first 15 bytes of `prefix`.
    static func named(prefix: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let head = String(prefix.prefix(15))
        return tasks.filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.hasPrefix(head)
        }.count
    }
}
