import CEpoll
import Foundation
import MailIO
import MailProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state and thread behind an `IdleWatcher`.
///
/// Everything but `inbox`, `idling` and `stopped` is touched only on the loop thread (which is
/// what makes the unchecked `Sendable` sound): other threads talk to it by queueing a `Command`
/// and signalling an eventfd the loop waits on with the connections.
final class IdleLoop<Key: Hashable & Sendable>: @unchecked Sendable {
    typealias Event = IdleWatcher<Key>.Event

    enum Command: Sendable {
        case watch(Key, IMAPEndpoint, String)
        case unwatch(Key)
        case established(Key, generation: Int, IdleHandoff)
        case unsupported(Key, generation: Int)
        case failed(Key, generation: Int, String)
        case stop
    }

    private struct Watch {
        enum State {
            case connecting
            case idle(IdleLink)
            case waiting(until: ContinuousClock.Instant)
            case unsupported
        }
        var endpoint: IMAPEndpoint
        var folder: String
        var generation: Int
        var state: State
        var failures = 0
        var wasWatching = false
    }

    let idling = Mutex<Set<Key>>([])
    let stopped = Mutex(false)
    let renewals = Atomic<Int>(0)
    private let inbox = Mutex<(commands: [Command], closed: Bool)>(([], false))
    private let settings: IdleWatcher<Key>.Settings
    private let handler: IdleWatcher<Key>.Handler
    private let epoll: Int32
    private let wake: Int32
    private let setup: [IOThread]
    private let name: String

    // Loop thread only.
    private var watches: [Key: Watch] = [:]
    private var keysByDescriptor: [Int32: Key] = [:]
    private var generations = 0
    private var nextSetup = 0
    /// No link or retry is due before this instant (recomputed at every scan).
    private var nextScan = ContinuousClock.now

    init(settings: IdleWatcher<Key>.Settings, name: String, handler: @escaping IdleWatcher<Key>.Handler) throws {
        self.settings = settings
        self.handler = handler
        self.name = name
        let epoll = mr_epoll_create()
        let wake = mr_eventfd()
        guard epoll >= 0, wake >= 0, mr_epoll_add_input(epoll, wake) == 0 else {
            if epoll >= 0 { closeDescriptor(epoll) }
            if wake >= 0 { closeDescriptor(wake) }
            throw TransportError(.connectionLost, detail: "cannot create the IDLE event loop: \(systemError(errno))")
        }
        self.epoll = epoll
        self.wake = wake
        setup = (0..<max(settings.setupThreads, 1)).map { IOThread(name: "\(name)-setup-\($0)") }
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues `command` for the loop; ignored once the loop has stopped (set-up results then
    /// close their connection here).
    func send(_ command: Command) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.closed else { return false }
            inbox.commands.append(command)
            return true
        }
        if accepted {
            mr_eventfd_signal(wake)
        } else if case .established(_, _, let handoff) = command {
            handoff.close()
        }
    }

    // MARK: - The loop

    private func run() {
        IOThread.nameCurrentThread(name)
        var ready = [Int32](repeating: 0, count: 256)
        var running = true
        while running {
            let count = ready.withUnsafeMutableBufferPointer { mr_epoll_wait_fds(epoll, $0.baseAddress!, 256, timeoutMilliseconds()) }
            let now = ContinuousClock.now
            if count > 0 {
                for fd in ready[..<Int(count)] where fd != wake {
                    if let key = keysByDescriptor[fd] { service(key, now: now) }
                }
            }
            mr_eventfd_drain(wake)
            let commands = inbox.withLock { inbox -> [Command] in
                defer { inbox.commands.removeAll() }
                return inbox.commands
            }
            for command in commands where running {
                running = handle(command, now: now)
            }
            if running, ContinuousClock.now >= nextScan { scan(now: ContinuousClock.now) }
        }
        finish()
    }

    /// Milliseconds until the next scan is due, rounded up, at most a minute.
    private func timeoutMilliseconds() -> Int32 {
        let left = ContinuousClock.now.duration(to: nextScan)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(min(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000, 60_000))
    }

    private func handle(_ command: Command, now: ContinuousClock.Instant) -> Bool {
        switch command {
        case .watch(let key, let endpoint, let folder):
            drop(key)
            generations += 1
            watches[key] = Watch(endpoint: endpoint, folder: folder, generation: generations, state: .connecting)
            connect(key)
        case .unwatch(let key):
            drop(key)
        case .established(let key, let generation, let handoff):
            guard var watch = watches[key], watch.generation == generation, case .connecting = watch.state else {
                handoff.close()
                return true
            }
            let link = IdleLink(handoff, timing: settings.timing, now: now)
            guard mr_epoll_add_input(epoll, link.descriptor) == 0 else {
                link.close()
                retry(key, reason: "cannot watch the socket: \(systemError(errno))", now: now)
                return true
            }
            keysByDescriptor[link.descriptor] = key
            let reconnected = watch.wasWatching
            watch.state = .idle(link)
            watch.failures = 0
            watch.wasWatching = true
            watches[key] = watch
            idling.withLock { _ = $0.insert(key) }
            handler(key, .watching(reconnected: reconnected))
            // Bytes may already wait in the framer or in OpenSSL, which epoll would not announce.
            service(key, now: now)
        case .unsupported(let key, let generation):
            guard watches[key]?.generation == generation else { return true }
            watches[key]?.state = .unsupported
            handler(key, .unsupported)
        case .failed(let key, let generation, let reason):
            guard watches[key]?.generation == generation else { return true }
            retry(key, reason: reason, now: now)
        case .stop:
            return false
        }
        return true
    }

    /// Reads from the connection of `key` and reports what it found.
    private func service(_ key: Key, now: ContinuousClock.Instant) {
        guard let watch = watches[key], case .idle(let link) = watch.state else { return }
        let outcome = link.service(now: now)
        report(key, link: link, outcome, now: now)
    }

    private func report(_ key: Key, link: IdleLink, _ outcome: IdleLink.Outcome, now: ContinuousClock.Instant) {
        if outcome.renewals > 0 { renewals.add(outcome.renewals, ordering: .relaxed) }
        if outcome.changed { handler(key, .changed) }
        if let failure = outcome.failure {
            close(link)
            retry(key, reason: failure, now: now)
        } else {
            nextScan = min(nextScan, link.cycle.nextDeadline)
        }
    }

    /// Renews, probes and times out links, and starts due reconnections; sets the next scan to
    /// the earliest deadline left (each `report` and `retry` lowers it).
    private func scan(now: ContinuousClock.Instant) {
        nextScan = now + .seconds(60)
        for (key, watch) in watches {
            switch watch.state {
            case .idle(let link):
                report(key, link: link, link.tick(now: now), now: now)
            case .waiting(let until):
                if now >= until {
                    watches[key]?.state = .connecting
                    connect(key)
                } else {
                    nextScan = min(nextScan, until)
                }
            case .connecting, .unsupported:
                break
            }
        }
    }

    /// Hands the set-up of `key`'s connection to a set-up thread.
    private func connect(_ key: Key) {
        guard let watch = watches[key] else { return }
        let generation = watch.generation
        let endpoint = watch.endpoint
        let folder = watch.folder
        let thread = setup[nextSetup % setup.count]
        nextSetup += 1
        thread.post { [self] in
            let result: Command
            do {
                let session = try IMAPSession(endpoint: endpoint)
                switch try session.startIdle(folder: folder) {
                case .idling(let handoff): result = .established(key, generation: generation, handoff)
                case .unsupported: result = .unsupported(key, generation: generation)
                }
            } catch {
                result = .failed(key, generation: generation, "\(error)")
            }
            self.send(result)
        }
    }

    /// Reports the failure and schedules the next attempt after the back-off.
    private func retry(_ key: Key, reason: String, now: ContinuousClock.Instant) {
        guard var watch = watches[key] else { return }
        watch.failures += 1
        let until = now + settings.reconnectDelay(failures: watch.failures)
        watch.state = .waiting(until: until)
        watches[key] = watch
        nextScan = min(nextScan, until)
        idling.withLock { _ = $0.remove(key) }
        handler(key, .lost(reason))
    }

    /// Forgets the watch of `key`, closing its connection.
    private func drop(_ key: Key) {
        guard let watch = watches.removeValue(forKey: key) else { return }
        if case .idle(let link) = watch.state { close(link) }
        idling.withLock { _ = $0.remove(key) }
    }

    private func close(_ link: IdleLink) {
        let fd = link.descriptor
        if fd >= 0 {
            _ = mr_epoll_remove(epoll, fd)
            keysByDescriptor[fd] = nil
        }
        link.close()
    }

    private func finish() {
        let late = inbox.withLock { inbox -> [Command] in
            inbox.closed = true
            defer { inbox.commands.removeAll() }
            return inbox.commands
        }
        for case .established(_, _, let handoff) in late { handoff.close() }
        for key in Array(watches.keys) { drop(key) }
        for thread in setup { thread.stop() }
        closeDescriptor(wake)
        closeDescriptor(epoll)
        stopped.withLock { $0 = true }
    }
}
