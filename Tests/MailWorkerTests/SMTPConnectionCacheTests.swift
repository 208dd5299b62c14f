import Foundation
import MailCore
@testable import MailStore
import MailTesting
import MailTransport
import Synchronization
import Testing
@testable import MailWorker

/// Several SMTP connections per account, against the real Postfix.
@Suite struct SMTPConnectionCacheTests {
    /// Holds every caller of `arriveAndWait` until `open`, counting arrivals.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, arrived: Int, waiting: [CheckedContinuation<Void, Never>])>((false, 0, []))

        var arrived: Int { state.withLock { $0.arrived } }

        func arriveAndWait() async {
            await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
                let openNow = state.withLock { s -> Bool in
                    s.arrived += 1
                    if !s.open { s.waiting.append(cont) }
                    return s.open
                }
                if openNow { cont.resume() }
            }
        }

        func open() {
            let waiting = state.withLock { s in
                s.open = true
                defer { s.waiting = [] }
                return s.waiting
            }
            for cont in waiting { cont.resume() }
        }
    }

    /// A cache, a sender and a recipient mailbox on the test Postfix, and a gate at which sends hold
    /// their connections after submitting.
    struct Held: Sendable {
        let server: TestMailServer, sender: TestMailbox, recipient: TestMailbox
        let cache: SMTPConnectionCache, gate = Gate(), key: String

        init(_ prefix: String, cap: Int) throws {
            server = try TestMailServer.fromEnvironment()
            sender = try server.createMailbox(prefix: prefix)
            recipient = try server.createMailbox(prefix: prefix + "-to")
            cache = SMTPConnectionCache(perAccountCap: cap)
            key = prefix
        }

        func endpoint(password: Secret? = nil) -> SMTPEndpoint {
            SMTPEndpoint(host: server.host, port: server.submissionPort, security: .starttls, verifyTLS: false,
                         authentication: .plain, username: sender.address, password: password ?? sender.secret,
                         heloName: "test.local", policy: server.outboundPolicy)
        }

        /// Submits message `n` through the cache, then holds the connection at the gate when `hold`.
        func send(_ n: Int, limit: Int, endpoint: SMTPEndpoint? = nil, hold: Bool = false) async throws {
            let message = Array(("From: <\(sender.address)>\r\nTo: <\(recipient.address)>\r\nSubject: cache \(n)\r\n"
                + "Message-ID: <cache-\(n)-\(UUID())@test.local>\r\n\r\nBody \(n)\r\n").utf8)
            try await cache.withConnection(key: key, limit: limit, endpoint: endpoint ?? self.endpoint()) { connection in
                try await connection.send(from: sender.address, recipients: [recipient.address], message: message)
                if hold { await gate.arriveAndWait() }
            }
        }

        /// Starts `count` held sends in `group`.
        func startHeld(_ count: Int, limit: Int, in group: inout ThrowingTaskGroup<Void, any Error>) {
            for n in 0..<count {
                group.addTask { try await send(n, limit: limit, hold: true) }
            }
        }

        var usage: SMTPConnectionCache.Usage { cache.usage(key: key) }

        func delivered(_ count: Int) async throws -> Bool {
            try await Eventually.until(timeout: .seconds(30)) { (try? server.messageCount(recipient)) ?? 0 >= count }
        }

        func remove() throws {
            try server.removeMailbox(sender)
            try server.removeMailbox(recipient)
        }
    }

    @Test func sendsUseUpToTheLimitOfConnectionsAtOnceAndTheRestWait() async throws {
        let h = try Held("cache-limit", cap: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The account allows 3; the worker 4: three at once, the fourth waits.
            h.startHeld(4, limit: 3, in: &group)
            // Three real sessions each submitted a message and are still held: concurrent connections.
            #expect(try await Eventually.until(timeout: .seconds(30)) { h.gate.arrived == 3 && h.usage.waiting == 1 })
            let during = h.usage
            #expect(during.busy == 3 && during.opened == 3 && during.idle == 0)
            h.gate.open()
            try await group.waitForAll()
        }
        #expect(h.gate.arrived == 4)
        #expect(h.usage == SMTPConnectionCache.Usage(idle: 3, busy: 0, waiting: 0, opened: 3, peakBusy: 3),
                "the fourth send reused a connection")
        #expect(try await h.delivered(4))
        try h.remove()
    }

    @Test func theWorkerCapBoundsAGenerousAccount() async throws {
        let h = try Held("cache-cap", cap: 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            h.startHeld(3, limit: 20, in: &group)
            #expect(try await Eventually.until(timeout: .seconds(30)) { h.gate.arrived == 2 && h.usage.waiting == 1 })
            h.gate.open()
            try await group.waitForAll()
        }
        #expect(h.usage.peakBusy == 2)
        #expect(h.usage.opened == 2)
        try h.remove()
    }

    @Test func aRefusedLoginClosesOnlyItsOwnConnection() async throws {
        let h = try Held("cache-auth", cap: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            h.startHeld(2, limit: 3, in: &group)
            #expect(try await Eventually.until(timeout: .seconds(30)) { h.gate.arrived == 2 })
            // The third connection of the key logs in with a wrong password while two are working.
            let refused = await #expect(throws: TransportError.self) {
                try await h.send(9, limit: 3, endpoint: h.endpoint(password: Secret("not-the-password")))
            }
            #expect(refused?.code == .authenticationFailed)
            #expect(h.usage.busy == 2, "the failed connection gave its place back")
            h.gate.open()
            try await group.waitForAll()
        }
        #expect(h.usage.idle == 2, "the working connections were kept")
        try await h.send(2, limit: 3)
        #expect(h.usage.opened == 3, "the next send reused a kept connection")
        #expect(try await h.delivered(3))
        try h.remove()
    }

    @Test func concurrentSendJobsStayWithinTheAccountLimit() async throws {
        let s = try await SendingFixture.make(smtpConnectionsPerAccount: 4)
        let support = try s.f.server.createMailbox(prefix: "cache-jobs"), customer = try s.f.server.createMailbox(prefix: "cache-jobs-to")
        let tenant = try await s.tenant("cache-jobs", accounts: [s.account("Support", support, smtpExtra: ", max_connections: 2")])
        let alice = try await s.user(tenant, "alice"), account = try await s.accountID(tenant, "Support")
        var ids: [EmailID] = []
        for n in 0..<12 {
            ids.append(try await s.queue(tenant, EmailDraft(account: account, user: alice, to: [customer.address], subject: "job \(n)", text: "n")))
        }
        // Four slots, as a worker runs them.
        #expect(try await s.runSends(tenant, lanes: 4).isEmpty)
        for id in ids { #expect(try await s.status(tenant, id).status == "Sent") }
        let usage = s.handler.connections.usages.values.reduce(into: SMTPConnectionCache.Usage()) {
            $0.opened += $1.opened
            $0.peakBusy = max($0.peakBusy, $1.peakBusy)
        }
        #expect((1...2).contains(usage.peakBusy), "at most the account's smtp_max_connections at once")
        #expect((1...2).contains(usage.opened))
        #expect(try await s.waitForMessages(customer, count: 12))
        try s.f.server.removeMailbox(support)
        try s.f.server.removeMailbox(customer)
    }
}
