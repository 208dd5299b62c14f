import MailCore
import MailIO

/// An `IMAPSession` confined to its own `IOThread`, usable from async code.
///
/// The session is created, used and freed only on `thread`; `run` hands it to a closure there and
/// returns the closure's (Sendable) result to the awaiting task. That confinement is what makes
/// the unchecked `Sendable` conformance sound.
public final class IMAPConnection: @unchecked Sendable {
    private let thread: IOThread
    /// Touched only on `thread`.
    private var session: IMAPSession?

    /// Creates the session on a new thread; connects on the first command.
    public init(endpoint: IMAPEndpoint, threadName: String = "imap") async throws {
        thread = IOThread(name: threadName)
        do {
            try await thread.run { [self] in self.session = try IMAPSession(endpoint: endpoint) }
        } catch {
            thread.stop()
            throw error
        }
    }

    /// Runs `body` with the session on the connection's thread.
    @discardableResult
    public func run<T: Sendable>(_ body: @escaping @Sendable (IMAPSession) throws -> T) async throws -> T {
        try await thread.run { [self] in
            guard let session = self.session else {
                throw TransportError(.connectionLost, detail: "connection closed")
            }
            return try body(session)
        }
    }

    /// Frees the session (closing its connection) and ends the thread. Later `run` calls throw.
    public func close() {
        thread.stop { [self] in self.session = nil }
    }

    deinit {
        thread.stop { [session = UncheckedBox(session)] in _ = session }
    }
}

/// Carries a value into the thread that owns it, for `deinit`.
private struct UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
