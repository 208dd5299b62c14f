import Foundation
import MailCore
import MailTransport

/// One IMAP session confined to its own thread: libcurl calls block, and a `CURL*` handle must be
/// used by one thread at a time, so every call goes through `run`.
final class IMAPConnection: @unchecked Sendable {
    private let thread: IOThread
    private let endpoint: IMAPEndpoint
    // Touched only on `thread`.
    private var session: IMAPSession?

    init(endpoint: IMAPEndpoint, label: String) {
        self.endpoint = endpoint
        self.thread = IOThread(name: "imap-\(label)")
    }

    /// Runs `body` with the session on the connection's thread, connecting first when needed.
    /// A session that failed at the connection level is dropped so the next call reconnects.
    func run<T: Sendable>(_ body: @escaping @Sendable (IMAPSession) throws -> T) async throws -> T {
        try await thread.run { [self] in
            if session == nil { session = try IMAPSession(endpoint: endpoint) }
            do {
                return try body(session!)
            } catch let e as TransportError where e.isConnectionLevel {
                session = nil
                throw e
            }
        }
    }

    func close() {
        thread.stop { [self] in session = nil }
    }
}
