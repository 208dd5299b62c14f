import MailCore
import MailProtocol

extension IMAPSession {
    /// Fetches many messages of `folder` with pipelined batch commands and hands each to `each`
    /// as soon as its literal is complete: `UID FETCH set (UID BODY.PEEK[])` (or
    /// `BODY.PEEK[HEADER]` with `headerOnly`) for `uidsPerCommand` UIDs at a time, up to
    /// `pipelineDepth` commands in flight (RFC 3501 §5.5). PEEK: no flag changes (§6.4.5).
    ///
    /// Every UID asked for is delivered exactly once, in the server's order: the bytes (exactly as
    /// stored, CRLF line ends), or `.noSuchMessage` (gone, or never there), `.messageTooLarge`
    /// (the literal passed `maxBytesPerMessage`, or what is left of `maxTotalBytes` after the
    /// messages delivered before it; read and dropped, later messages still come),
    /// `.commandFailed` (the server refused the batch with NO). Memory holds one message at a
    /// time besides what `each` keeps.
    ///
    /// With `uidValidity`, throws `.uidValidityChanged` before fetching when the mailbox's
    /// UIDVALIDITY (as the session's SELECT saw it) differs. Connection failures throw; they are
    /// retried on a new connection only while nothing was delivered. An error thrown by `each`
    /// stops the fetch and closes the connection.
    public func fetchMessages(_ folder: String, uids: [UID], maxBytesPerMessage: Int?, maxTotalBytes: Int? = nil,
                              headerOnly: Bool = false,
                              uidValidity: UIDValidity? = nil, uidsPerCommand: Int = 64, pipelineDepth: Int = 4,
                              each: (UID, Result<[UInt8], TransportError>) throws -> Void) throws {
        guard !uids.isEmpty else { return }
        let sets = UIDSet(uids).chunked(maxCount: max(1, uidsPerCommand))
        try perform { client in
            let status = try ensureSelected(client, folder)
            if let uidValidity, status.uidValidity != uidValidity {
                throw TransportError(.uidValidityChanged,
                                     detail: "\(folder): UIDVALIDITY is \(status.uidValidity), not \(uidValidity)")
            }
            try client.fetchSections(sets, section: headerOnly ? "HEADER" : "", limit: maxBytesPerMessage,
                                     totalLimit: maxTotalBytes, depth: pipelineDepth) { uid, result in
                client.markAnswered()
                try each(uid, result)
            }
        }
    }
}
