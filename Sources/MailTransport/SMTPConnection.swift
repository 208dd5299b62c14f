import MailCore
import MailIO

/// An `SMTPSession` confined to its own `IOThread`, usable from async code. Sends through one
/// connection are serialised on that thread; libcurl keeps the connection open between them.
public final class SMTPConnection: @unchecked Sendable {
    private let thread: IOThread
    /// Touched only on `thread`.
    private var session: SMTPSession?

    public init(endpoint: SMTPEndpoint, threadName: String = "smtp") async throws {
        thread = IOThread(name: threadName)
        do {
            try await thread.run { [self] in self.session = try SMTPSession(endpoint: endpoint) }
        } catch {
            thread.stop()
            throw error
        }
    }

    /// `SMTPSession.send` on the connection's thread.
    public func send(from: String, recipients: [String], message: [UInt8]) async throws {
        try await thread.run { [self] in
            guard let session = self.session else { throw TransportError(.connectionLost, detail: "connection closed", service: "SMTP") }
            try session.send(from: from, recipients: recipients, message: message)
        }
    }

    /// Frees the session (closing its connection) and ends the thread.
    public func close() {
        thread.stop { [self] in self.session = nil }
    }

    deinit {
        thread.stop { [session = SessionBox(session)] in _ = session }
    }
}

private struct SessionBox: @unchecked Sendable {
    var value: SMTPSession?
    init(_ value: SMTPSession?) { self.value = value }
}
