import Foundation
import MailIO
import MailProtocol
import Synchronization

/// Watches many folders with IMAP IDLE (RFC 2177) on ONE event-loop thread: no thread per
/// connection.
///
/// Each watch has one connection. A small pool of set-up threads opens it with the ordinary
/// blocking client (connect, TLS or STARTTLS, login with password or OAuth, all through the
/// endpoint's outbound policy), `EXAMINE`s the folder (never SELECT: no `\Seen` or `\Recent` side
/// effects) and sends `IDLE`; the connected socket and its TLS state then move to the loop, which
/// waits on all of them with epoll and reads without blocking. What the loop reports, through the
/// handler, on the loop thread (the handler must return quickly and never block):
/// - `.watching(reconnected:)` once IDLE runs (again): after a reconnection, mail may have
///   arrived unseen meanwhile, so callers poll then;
/// - `.changed` for `* n EXISTS` / `* n EXPUNGE`, at most once per batch of bytes read;
/// - `.lost(reason)` when the connection failed (BYE, close, error, stall); a new one is opened
///   after a back-off doubling from `reconnectAfter` to `reconnectAtMost`, reset once IDLE runs;
/// - `.unsupported` when CAPABILITY lacks IDLE: the watch then stays idle and the caller polls.
///
/// IDLE is renewed and the connection probed as `IdleCycle` describes: a silent or stalled
/// connection is replaced at most `timing.stallBound` after its last byte. `unwatch` closes the
/// connection at once (or as soon as its set-up ends). Reasons are log-safe: the client removes
/// the secret from any text that reaches them.
public final class IdleWatcher<Key: Hashable & Sendable>: Sendable {
    public struct Settings: Sendable {
        public var timing: IdleCycle.Timing
        /// The first reconnection delay after a failure; it doubles with each failed attempt.
        public var reconnectAfter: Duration
        public var reconnectAtMost: Duration
        /// Threads that open connections (blocking work, bounded by each endpoint's timeouts).
        public var setupThreads: Int

        public init(timing: IdleCycle.Timing = IdleCycle.Timing(), reconnectAfter: Duration = .seconds(1),
                    reconnectAtMost: Duration = .seconds(300), setupThreads: Int = 2) {
            self.timing = timing
            self.reconnectAfter = reconnectAfter
            self.reconnectAtMost = reconnectAtMost
            self.setupThreads = setupThreads
        }

        /// The delay before reconnection attempt number `failures` (1, 2, …).
        func reconnectDelay(failures: Int) -> Duration {
            var delay = reconnectAfter
            for _ in 1..<max(failures, 1) where delay < reconnectAtMost { delay = delay * 2 }
            return min(delay, reconnectAtMost)
        }
    }

    public enum Event: Sendable, Equatable {
        case watching(reconnected: Bool)
        case changed
        case lost(String)
        case unsupported
    }

    public typealias Handler = @Sendable (Key, Event) -> Void

    private let loop: IdleLoop<Key>

    /// Starts the loop thread and the set-up threads. Throws when epoll is unavailable.
    public init(settings: Settings = Settings(), name: String = "idle", handler: @escaping Handler) throws {
        loop = try IdleLoop(settings: settings, name: name, handler: handler)
    }

    /// Watches `folder` through `endpoint` under `key`, replacing (closing) a watch with that key.
    public func watch(_ key: Key, endpoint: IMAPEndpoint, folder: String = "INBOX") {
        loop.send(.watch(key, endpoint, folder))
    }

    /// Ends the watch under `key`: its connection is closed (at once, or as soon as its set-up
    /// finishes). No event follows for it.
    public func unwatch(_ key: Key) {
        loop.send(.unwatch(key))
    }

    /// The keys whose IDLE runs now.
    public var idlingKeys: Set<Key> { loop.idling.withLock { $0 } }

    /// IDLE renewals completed so far, all watches together.
    public var renewals: Int { loop.renewals.load(ordering: .relaxed) }

    /// Closes every connection and ends the threads. Later calls do nothing.
    public func shutdown() { loop.send(.stop) }

    /// True once the loop thread has returned after `shutdown`.
    public var hasStopped: Bool { loop.stopped.withLock { $0 } }

    deinit { loop.send(.stop) }
}
