import Foundation
import MailCore
import MailIO
import MailProtocol

/// The IMAP protocol engine over one `ByteStream` (RFC 3501 as updated by RFC 7162, 7888, 4959).
///
/// Owns the stream, its input buffer and an `IMAPResponseFramer`; writes tagged commands and reads
/// responses. Untagged responses may arrive in any order and at any time (EXISTS, EXPUNGE, FETCH
/// FLAGS of other messages, `* OK [ALERT]`): a command collects them, the fetch loop picks its own
/// FETCH responses out of them. A `* BYE` is remembered: the server closes next, and the error
/// then carries its text.
///
/// Not Sendable, blocking: used on the `IOThread` of its `IMAPConnection`. After any error other
/// than a tagged NO (`.commandFailed`, `.noSuchFolder`) or a body over its limit
/// (`.messageTooLarge`), the stream may be mid-response: the owner must close the client.
final class IMAPClient {
    /// A message body the framer streamed: its octets, or its announced size when it passed the
    /// limit (its octets were read and dropped).
    enum Body {
        case bytes([UInt8])
        case tooLarge(announced: Int)
    }

    /// One complete response and the bodies streamed inside it, in order.
    struct Received {
        var response: IMAPResponse
        var bytes: [UInt8]
        var bodies: [Body]
    }

    let stream: ByteStream
    /// Texts that must never appear in an error (the password or token).
    private let secrets: [String]
    var framer: IMAPResponseFramer
    /// The server's capabilities, upper-cased: from the greeting, `* CAPABILITY` or a
    /// `[CAPABILITY …]` code; nil when they must be asked for (after STARTTLS and login).
    var capabilities: Set<String>?
    /// How mailbox names travel on this connection (UTF-8 once `enableUTF8` succeeded).
    private(set) var mailboxNames = MailboxNameEncoding.modifiedUTF7
    /// The text of the `* BYE` the server sent, if it did.
    private(set) var byeText: String?
    /// True once the server sent a tagged completion or a continuation request since the last
    /// `resetAnswered()`: a command it answered may have taken effect and must not be repeated.
    private(set) var answered = false
    /// The most octets a streamed body may have; a longer one is read and dropped (`.tooLarge`).
    var bodyLimit: Int?
    /// Drop streamed bodies altogether (commands that do not ask for any).
    private var discardingBodies = false
    private var tagCounter = 0
    static let readSize = 64 << 10

    private var bodies: [Body] = []
    private var body: [UInt8] = []
    private var bodyDropped = false
    private var bodyAnnounced = 0

    init(stream: ByteStream, maxResponseBytes: Int, secrets: [String]) {
        self.stream = stream
        self.secrets = secrets.filter { $0.count >= 3 }
        framer = IMAPResponseFramer(maxResponseBytes: maxResponseBytes)
    }

    func close() { stream.close() }

    func resetAnswered() { answered = false }

    /// Records that the caller received something of the server's answer (a fetched message).
    func markAnswered() { answered = true }

    func nextTag() -> String {
        tagCounter += 1
        return "M\(tagCounter)"
    }

    /// Writes raw command bytes.
    func write(_ bytes: [UInt8]) throws(TransportError) {
        try stream.write(bytes)
    }

    // MARK: - Reading

    /// The next complete response. Body literals inside it are collected per `bodyLimit`.
    func readResponse() throws(TransportError) -> Received {
        while true {
            if let received = try bufferedResponse() { return received }
            try fill()
        }
    }

    /// The next complete response among the bytes already received; nil when more are needed.
    func bufferedResponse() throws(TransportError) -> Received? {
        while true {
            let event: IMAPResponseFramer.Event?
            do {
                event = try framer.next()
            } catch {
                throw TransportError(error.code == .tooLarge ? .responseTooLarge : .protocolError, detail: error.detail)
            }
            guard let event else { return nil }
            switch event {
            case .bodyStart(let length):
                bodyAnnounced = length
                body = []
                bodyDropped = discardingBodies || bodyLimit.map { length > $0 } ?? false
                // Trust the announcement for the allocation only up to a bound.
                if !bodyDropped { body.reserveCapacity(min(length, 32 << 20)) }
            case .bodyBytes(let slice):
                if !bodyDropped { body.append(contentsOf: slice) }
            case .bodyEnd:
                bodies.append(bodyDropped ? .tooLarge(announced: bodyAnnounced) : .bytes(body))
                body = []
            case .response(let bytes):
                let response: IMAPResponse
                do {
                    var parsed = try IMAPResponse.parseStream(bytes)
                    guard parsed.count == 1 else { throw IMAPProtocolError(.malformed, "not one response") }
                    response = parsed.removeLast()
                } catch let error as IMAPProtocolError {
                    throw TransportError(.protocolError, detail: scrub("unreadable response: \(error.detail)"))
                } catch {
                    throw TransportError(.protocolError, detail: "unreadable response")
                }
                let received = Received(response: response, bytes: bytes, bodies: bodies)
                bodies = []
                observe(response)
                return received
            }
        }
    }

    /// Reads more bytes: straight into the body being streamed when nothing else is buffered (one
    /// copy of a message, socket to its array), else into the framer's buffer.
    ///
    /// A read costs time in proportion to `max` (the stream prepares that much room), and one TLS
    /// record holds at most 16 KB: 64 KB per read is plenty.
    private func fill() throws(TransportError) {
        let count: Int
        if let remaining = framer.bodyRemaining, remaining > 0, framer.isDrained, !bodyDropped {
            count = try stream.read(into: &body, max: min(remaining, Self.readSize))
            if count > 0 { framer.consumeBodyBytes(count) }
        } else {
            count = try stream.read(into: &framer.buffer, max: Self.readSize)
        }
        guard count == 0 else { return }
        let inside = framer.bodyRemaining != nil ? " inside a message literal (the partial message was discarded)" : ""
        body = []
        bodies = []
        if let byeText {
            throw TransportError(.connectionLost, detail: "the server closed the connection\(inside) after BYE: \(byeText)")
        }
        throw TransportError(.connectionLost, detail: "the server closed the connection\(inside)")
    }

    /// Keeps what any response says about the session: capabilities, BYE, answers.
    private func observe(_ response: IMAPResponse) {
        switch response.tag {
        case .tagged, .continuation: answered = true
        case .untagged: break
        }
        if response.condition == .bye { byeText = scrub(String(response.text.prefix(200))) }
        if response.dataName == "CAPABILITY" {
            capabilities = Set(response.values.dropFirst().compactMap { $0.atom?.uppercased() })
        } else if response.codeName == "CAPABILITY", let code = response.code {
            capabilities = Set(code.dropFirst().compactMap { $0.atom?.uppercased() })
        }
    }

    // MARK: - Commands

    /// Sends `command` and reads until its tagged completion; returns every response received
    /// meanwhile plus the completion, as bytes (what `IMAPResponseParser` reads). Synchronizing
    /// literals wait for the server's continuation request. A tagged NO/BAD throws
    /// `.commandFailed` (`.noSuchFolder` with RFC 5530 `[NONEXISTENT]` or RFC 3501 `[TRYCREATE]`).
    /// `describe` names the command in errors (default: its text up to the first literal);
    /// `refusedAs` replaces `.commandFailed` for commands whose NO has one meaning.
    @discardableResult
    func execute(_ command: IMAPCommandLine, describe: String? = nil,
                 refusedAs: TransportError.Code = .commandFailed) throws(TransportError) -> [UInt8] {
        let tag = nextTag()
        let name = describe ?? command.summary
        let segments = command.segments(tag: tag, literals: .init(capabilities: capabilities ?? []))
        try write(segments[0].bytes)
        var next = 1
        var collected: [UInt8] = []
        discardingBodies = true
        defer { discardingBodies = false }
        while true {
            let received = try readResponse()
            switch received.response.tag {
            case .continuation:
                guard next < segments.count else {
                    throw TransportError(.protocolError, detail: "\(name): unexpected continuation request")
                }
                try write(segments[next].bytes)
                next += 1
            case .tagged(let completed):
                guard completed == tag else {
                    throw TransportError(.protocolError, detail: "\(name): completion for unknown tag \(completed)")
                }
                try check(received.response, command: name, refusedAs: refusedAs)
                collected += received.bytes
                return collected
            case .untagged:
                guard collected.count + received.bytes.count <= framer.maxResponseBytes else {
                    throw TransportError(.responseTooLarge, detail: "\(name): the answer passed \(framer.maxResponseBytes) bytes")
                }
                collected += received.bytes
            }
        }
    }

    /// Throws for a tagged NO or BAD.
    func check(_ completion: IMAPResponse, command: String, refusedAs: TransportError.Code = .commandFailed) throws(TransportError) {
        guard let condition = completion.condition, condition != .ok else { return }
        let code = completion.codeName
        let detail = scrub("\(command): \(condition.rawValue) \(code.map { "[\($0)] " } ?? "")\(completion.text.prefix(200))")
        // RFC 5530 NONEXISTENT, RFC 3501 §7.1 TRYCREATE: the mailbox is missing.
        if code == "NONEXISTENT" || code == "TRYCREATE" { throw TransportError(.noSuchFolder, detail: detail) }
        throw TransportError(condition == .no ? refusedAs : .commandFailed, detail: detail)
    }

    /// `CAPABILITY` (RFC 3501 §6.1.1) unless the capabilities are known.
    func knownCapabilities() throws(TransportError) -> Set<String> {
        if let capabilities { return capabilities }
        try execute(IMAPCommandLine("CAPABILITY"))
        guard let capabilities else { throw TransportError(.protocolError, detail: "CAPABILITY: no capability list") }
        return capabilities
    }

    /// Removes secrets from text that may end up in logs.
    func scrub(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") }
    }

    /// True when no received byte waits unread (STARTTLS must start on a clean stream).
    var inputDrained: Bool { framer.isDrained }

    /// `ENABLE UTF8=ACCEPT` (RFC 6855 §3, RFC 5161) after login, when the server offers both: mailbox
    /// names then travel as UTF-8. Without the server's `* ENABLED UTF8=ACCEPT` they stay in
    /// modified UTF-7.
    func enableUTF8() throws(TransportError) {
        let offered = try knownCapabilities()
        guard offered.contains("UTF8=ACCEPT"), offered.contains("ENABLE") else { return }
        let stream = try execute(IMAPCommandLine("ENABLE UTF8=ACCEPT"))
        let responses = (try? IMAPResponse.parseStream(stream)) ?? []
        let enabled = responses.contains { response in
            response.dataName == "ENABLED" && response.values.contains { $0.atom?.uppercased() == "UTF8=ACCEPT" }
        }
        if enabled { mailboxNames = .utf8 }
    }
}
