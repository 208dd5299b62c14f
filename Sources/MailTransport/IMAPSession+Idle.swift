import MailProtocol

/// A logged-in connection whose folder is examined and whose `IDLE` the server accepted, taken
/// out of its `IMAPSession` for an event loop.
///
/// Made on a set-up thread, then handed to the loop thread, which alone uses it from then on:
/// a transfer, never shared, which is what makes the unchecked `Sendable` sound.
final class IdleHandoff: @unchecked Sendable {
    let client: IMAPClient
    let connection: NetworkConnection
    /// The tag of the running `IDLE` command.
    let tag: String

    init(client: IMAPClient, connection: NetworkConnection, tag: String) {
        self.client = client
        self.connection = connection
        self.tag = tag
    }

    func close() { client.close() }
}

extension IMAPSession {
    /// What `startIdle` found.
    enum IdleStart {
        case idling(IdleHandoff)
        /// The server's CAPABILITY lacks `IDLE` (RFC 2177): the folder can only be polled.
        case unsupported
    }

    /// Connects and logs in when needed, `EXAMINE`s `folder` (read-only, RFC 3501 §6.3.2: unlike
    /// SELECT it neither clears `\Recent` nor lets a later fetch set `\Seen`) and sends `IDLE`.
    /// Once the server's continuation request arrives, the connection leaves the session (which
    /// has none afterwards) inside the returned handoff. Blocking, bounded by the endpoint's
    /// timeouts. Throws `TransportError` (`.noSuchFolder` for a missing folder).
    func startIdle(folder: String) throws -> IdleStart {
        let started: IdleStart = try perform { client in
            guard try client.knownCapabilities().contains("IDLE") else { return .unsupported }
            guard let connection = client.stream as? NetworkConnection else {
                throw TransportError(.protocolError, detail: "IDLE needs a network connection")
            }
            _ = try select(client, folder, readOnly: true)
            let tag = client.nextTag()
            try client.write(Array("\(tag) IDLE\r\n".utf8))
            while true {
                let received = try client.readResponse()
                switch received.response.tag {
                case .continuation:
                    return .idling(IdleHandoff(client: client, connection: connection, tag: tag))
                case .tagged(let completed) where completed == tag:
                    try client.check(received.response, command: "IDLE")
                    throw TransportError(.protocolError, detail: "IDLE completed without a continuation request")
                case .tagged(let other):
                    throw TransportError(.protocolError, detail: "IDLE: completion for unknown tag \(other.prefix(40))")
                case .untagged:
                    // EXISTS / EXPUNGE before the `+`: the caller polls after every (re)connection.
                    continue
                }
            }
        }
        if case .idling = started {
            client = nil
            selection = nil
        }
        return started
    }
}
