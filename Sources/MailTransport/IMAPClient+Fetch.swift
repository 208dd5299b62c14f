import MailCore
import MailProtocol

extension IMAPClient {
    /// Fetches one body section of many messages with pipelined commands: `UID FETCH set (UID
    /// BODY.PEEK[section])` for each set of `sets` (RFC 3501 §6.4.8, §6.4.5), at most `depth`
    /// commands in flight. PEEK: no flag changes.
    ///
    /// `deliver` gets every asked-for UID exactly once, as soon as its literal is complete, in the
    /// server's order: its bytes, `.messageTooLarge` when the literal passed `limit` or what is
    /// left of `totalLimit` after the bodies delivered before it (read and
    /// dropped; the connection stays usable), `.noSuchMessage` when the server completed the
    /// command without it (expunged or never there), `.commandFailed` when the server answered
    /// NO. FETCH responses for other messages or without the section (flag updates) are ignored.
    /// An error `deliver` throws stops the fetch; the client must then be closed.
    func fetchSections(_ sets: [UIDSet], section: String, limit: Int?, totalLimit: Int? = nil, depth: Int,
                       deliver: (UID, Result<[UInt8], TransportError>) throws -> Void) throws {
        struct InFlight {
            var tag: String
            var uids: UIDSet
            var delivered: Set<UID> = []
        }
        let item = "UID BODY.PEEK[\(section)]"
        var queue: [InFlight] = []
        var remaining = sets.filter { !$0.isEmpty }[...]
        var delivered = 0
        func updateLimit() {
            guard let totalLimit else { bodyLimit = limit; return }
            bodyLimit = min(limit ?? Int.max, max(0, totalLimit - delivered))
        }
        updateLimit()
        defer { bodyLimit = nil }

        func sendMore() throws(TransportError) {
            var batch: [UInt8] = []
            while queue.count < max(1, depth), let next = remaining.popFirst() {
                let tag = nextTag()
                batch += Array("\(tag) UID FETCH \(next) (\(item))\r\n".utf8)
                queue.append(InFlight(tag: tag, uids: next))
            }
            if !batch.isEmpty { try write(batch) }
        }

        try sendMore()
        while !queue.isEmpty {
            let received = try readResponse()
            switch received.response.tag {
            case .untagged:
                let fetch: IMAPFetchResponse?
                do {
                    fetch = try IMAPFetchResponse(received.response)
                } catch {
                    throw TransportError(.protocolError, detail: "FETCH: \(error.detail)")
                }
                guard let fetch, let uid = fetch.uid,
                    let body = fetch.bodies.first(where: { $0.section == section }),
                    let index = queue.firstIndex(where: { $0.uids.contains(uid) && !$0.delivered.contains(uid) })
                else { continue }
                queue[index].delivered.insert(uid)
                switch body.content {
                case .streamed(let k):
                    guard k < received.bodies.count else {
                        throw TransportError(.protocolError, detail: "FETCH: body \(k) missing")
                    }
                    switch received.bodies[k] {
                    case .bytes(let bytes):
                        delivered += bytes.count
                        updateLimit()
                        try deliver(uid, .success(bytes))
                    case .tooLarge(let announced):
                        try deliver(uid, .failure(TransportError(.messageTooLarge,
                            detail: "message body passed the limit of \(bodyLimit ?? 0) bytes (it has \(announced)); its bytes were dropped")))
                    }
                case .inline(let bytes?):
                    if let limit, bytes.count > limit {
                        try deliver(uid, .failure(TransportError(.messageTooLarge, detail: "message body passed the limit of \(limit) bytes")))
                    } else {
                        try deliver(uid, .success(bytes))
                    }
                case .inline(nil):
                    try deliver(uid, .failure(TransportError(.noSuchMessage, detail: "UID FETCH \(uid): the server sent NIL for BODY[\(section)]")))
                }
            case .tagged(let tag):
                guard let index = queue.firstIndex(where: { $0.tag == tag }) else {
                    throw TransportError(.protocolError, detail: "UID FETCH: completion for unknown tag \(tag)")
                }
                let done = queue.remove(at: index)
                var failure: TransportError?
                do {
                    try check(received.response, command: "UID FETCH")
                } catch {
                    guard received.response.condition == .no else { throw error }
                    failure = error
                }
                for uid in done.uids where !done.delivered.contains(uid) {
                    try deliver(uid, .failure(failure ?? TransportError(.noSuchMessage, detail: "UID \(uid) does not exist (any more)")))
                }
                try sendMore()
            case .continuation:
                throw TransportError(.protocolError, detail: "UID FETCH: unexpected continuation request")
            }
        }
    }
}
