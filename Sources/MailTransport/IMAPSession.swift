import Foundation
import MailCore
import MailIO
import MailProtocol

/// An authenticated IMAP session: one connection of Mailroom's own `IMAPClient`, opened on the
/// first command and kept open between calls.
///
/// Not Sendable and every method blocks: create and use a session on one `IOThread` (see
/// `IMAPConnection`).
///
/// - The session tracks the mailbox it selected and whether read-only (EXAMINE): commands that
///   need a mailbox select it when it is not the selected one, and flag changes re-select a
///   read-only mailbox read-write. `select(_:readOnly:)` and `examine(_:)` always ask the server
///   again, so their answer is fresh.
/// - Message bodies are fetched with `BODY.PEEK[…]`: reading never changes a flag.
/// - A kept connection the server dropped (idle timeout, `doveadm kick`, Dovecot's `* BYE` after a
///   UIDVALIDITY change) fails the next command before the server answered anything; the command
///   is then repeated once on a new connection. A command the server answered (a tagged
///   completion, a continuation request, a delivered message) is never repeated.
public final class IMAPSession {
    public let endpoint: IMAPEndpoint
    /// The most bytes one response may take, message bodies not counted (they have their own
    /// limit per fetch); also the most the untagged answers of one command may add up to.
    public var maxResponseBytes = 64 << 20
    /// UIDs per `UID FETCH` of metadata.
    public var metadataChunkSize = 1000
    /// Tests set this to exercise the plain-SEARCH path against a server that has ESEARCH.
    var esearchOverride: Bool?
    /// Tests set this to force one SASL mechanism (`PLAIN`, `XOAUTH2`, …; empty: IMAP LOGIN).
    var saslMechanisms: Set<String>?

    /// The mailbox the server has selected on the current connection.
    struct Selection {
        var folder: String
        var readOnly: Bool
        var status: MailboxStatus
    }

    let outbound: OutboundGuard
    /// Opens the byte stream of a new connection (the network; tests may pass a transcript).
    let openStream: () throws -> ByteStream
    var client: IMAPClient?
    var selection: Selection?
    /// True when the last command opened the connection (a new TCP connection and login), false
    /// when it reused an open one.
    public private(set) var lastCommandConnected = false

    /// Checks the endpoint; connects on the first command.
    public convenience init(endpoint: IMAPEndpoint) throws {
        guard (1...65535).contains(endpoint.port), !endpoint.host.isEmpty,
            !endpoint.host.contains(where: { $0 == "/" || $0 == "@" || $0.isWhitespace })
        else { throw TransportError(.protocolError, detail: "invalid IMAP endpoint \(endpoint.host):\(endpoint.port)") }
        // IMAP always logs in: without TLS the credentials travel in clear text.
        let outbound = OutboundGuard(
            policy: endpoint.policy, host: endpoint.host,
            insecureUse: OutboundPolicy.insecureUse(tls: endpoint.security != .none, verifyTLS: endpoint.verifyTLS,
                                                    sendsPassword: true),
            resolver: endpoint.resolver, service: "IMAP")
        var options = NetworkConnection.Options(
            host: endpoint.host, port: endpoint.port, implicitTLS: endpoint.security == .tls, verifyTLS: endpoint.verifyTLS,
            connectTimeout: endpoint.connectTimeout, ioTimeout: endpoint.ioTimeout)
        do {
            options.trust = try TLSTrust(policy: endpoint.policy)
        } catch {
            throw TransportError(.tlsFailed, detail: "\(error)", service: "IMAP")
        }
        self.init(endpoint: endpoint, outbound: outbound) {
            try outbound.checkBeforeConnecting()
            return try NetworkConnection.connect(options, outbound: outbound)
        }
    }

    init(endpoint: IMAPEndpoint, outbound: OutboundGuard, openStream: @escaping () throws -> ByteStream) {
        self.endpoint = endpoint
        self.outbound = outbound
        self.openStream = openStream
    }

    deinit { client?.close() }

    /// Closes the connection; the next command opens a new one.
    public func disconnect() {
        client?.close()
        client = nil
        selection = nil
    }

    // MARK: - Running commands

    /// Runs `body` on a logged-in client, connecting first when needed. When a reused connection
    /// fails with `.connectionLost` before the server answered anything, `body` runs once more on
    /// a new connection. A command that is not idempotent (APPEND) is repeated only when the server
    /// said `* BYE` before answering it: a server executes nothing after BYE (RFC 3501 §7.1.5).
    /// After an error that leaves the stream in an unknown state the connection is closed.
    @discardableResult
    func perform<T>(idempotent: Bool = true, _ body: (IMAPClient) throws -> T) throws -> T {
        lastCommandConnected = false
        var retried = false
        while true {
            let reused = client != nil
            let active = try client ?? open()
            active.resetAnswered()
            do {
                return try body(active)
            } catch {
                let transport = error as? TransportError
                if !(transport.map(Self.keepsConnection) ?? false) { disconnect() }
                if let transport, transport.code == .connectionLost, reused, !retried, !active.answered,
                    idempotent || active.byeText != nil {
                    retried = true
                    continue
                }
                throw error
            }
        }
    }

    /// Errors after which the stream is still in step with the server.
    static func keepsConnection(_ error: TransportError) -> Bool {
        [.commandFailed, .noSuchFolder, .noSuchMessage, .messageTooLarge, .uidValidityChanged].contains(error.code)
    }

    /// Connects, reads the greeting, upgrades with STARTTLS when configured, logs in.
    private func open() throws -> IMAPClient {
        let stream = try openStream()
        let opened = IMAPClient(stream: stream, maxResponseBytes: maxResponseBytes, secrets: [endpoint.password.value])
        do {
            let preauthenticated = try opened.readGreeting()
            if endpoint.security == .starttls {
                guard !preauthenticated else {
                    throw TransportError(.tlsFailed, detail: "the server greeted with PREAUTH: STARTTLS is impossible")
                }
                try opened.startTLS()
            }
            if !preauthenticated {
                try opened.login(username: endpoint.username, secret: endpoint.password.value, method: endpoint.login,
                                 mechanisms: saslMechanisms)
            }
            try opened.enableUTF8()
        } catch {
            opened.close()
            throw error
        }
        client = opened
        selection = nil
        lastCommandConnected = true
        return opened
    }

    // MARK: - Selection

    /// `SELECT` or `EXAMINE` (RFC 3501 §6.3.1, §6.3.2) of `folder`, with `(CONDSTORE)` when the
    /// server offers it (RFC 7162 §3.1.8: it then reports HIGHESTMODSEQ). When the answer carries
    /// no UIDNEXT (Courier-IMAP), `STATUS folder (UIDNEXT)` is asked; if that has none either,
    /// `uidNext` stays nil.
    func select(_ client: IMAPClient, _ folder: String, readOnly: Bool) throws -> MailboxStatus {
        selection = nil
        let condstore = try client.knownCapabilities().contains("CONDSTORE") ? " (CONDSTORE)" : ""
        let verb = readOnly ? "EXAMINE" : "SELECT"
        // RFC 3501 §6.3.1: NO means no such mailbox or no access to it (Dovecot names no code).
        let stream = try client.execute(IMAPCommandLine("\(verb) \(client.mailboxNames.quoted(folder))\(condstore)"),
                                        refusedAs: .noSuchFolder)
        var status = try parse(verb) { try IMAPResponseParser.mailboxStatus(stream) }
        if status.uidNext == nil {
            let answer = try client.execute(IMAPCommandLine("STATUS \(client.mailboxNames.quoted(folder)) (UIDNEXT)"))
            let next = try parse("STATUS") { try IMAPStatusResponse.find(in: answer, mailbox: folder, names: client.mailboxNames)?.items["UIDNEXT"] }
            status.uidNext = next.flatMap { UInt32(exactly: $0) }.map(UID.init)
        }
        selection = Selection(folder: folder, readOnly: readOnly, status: status)
        return status
    }

    /// Selects `folder` unless it is selected (read-write when `writable`).
    func ensureSelected(_ client: IMAPClient, _ folder: String, writable: Bool = false) throws -> MailboxStatus {
        if let selection, selection.folder == folder, !(writable && selection.readOnly) { return selection.status }
        return try select(client, folder, readOnly: false)
    }

    /// Runs a parser of `MailProtocol`, mapping its errors.
    func parse<T>(_ command: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as IMAPProtocolError {
            throw TransportError(.protocolError, detail: "\(command): \(error.detail)")
        }
    }
}
