/// Cuts the byte stream a server sends into complete responses as the bytes arrive (RFC 3501 §2.2.2,
/// §4.3, §7), without ever holding a message body as part of a response.
///
/// A pure state machine over its own input buffer: the reader appends what the socket delivered to
/// `buffer` and calls `next()` until it returns nil ("need more bytes").
///
/// - A response is one line, continued across literals (`{n}` CRLF + n octets). Small literals (a
///   mailbox name, an ENVELOPE string) stay inside the response, as the server sent them.
/// - The literal of a FETCH body item (`BODY[…]`, `BODY[…]<origin>`, `BINARY[…]`, `RFC822`,
///   `RFC822.HEADER`, `RFC822.TEXT`) is *streamed*: `.bodyStart(length)`, its octets as one or more
///   `.bodyBytes` slices of `buffer`, then `.bodyEnd`. In the response that follows, the literal is
///   replaced by the atom `%k`, the index of the streamed body within that response (`%` cannot start
///   an IMAP string, so no real value looks like it). Memory for bodies is the caller's business.
/// - Everything else of one response (lines and small literals) is limited to `maxResponseBytes`;
///   more throws `.tooLarge`, so a hostile server cannot exhaust memory with an endless line.
///
/// The slices of `.bodyBytes` are valid only until the next call (the buffer is compacted).
public struct IMAPResponseFramer: Sendable {
    public enum Event: Sendable, Equatable {
        /// A complete response, with streamed body literals replaced by `%k` atoms.
        case response([UInt8])
        /// A FETCH body literal of `length` octets begins.
        case bodyStart(length: Int)
        /// The next octets of the current body literal.
        case bodyBytes(ArraySlice<UInt8>)
        /// The current body literal is complete.
        case bodyEnd
    }

    private enum State: Sendable {
        /// Looking for the LF that ends the current line.
        case line
        /// Copying `remaining` octets of a small literal into the response.
        case literal(remaining: Int)
        /// Streaming `remaining` octets of a body literal.
        case body(remaining: Int)
    }

    /// Bytes received and not yet consumed (plus, before `position`, consumed ones awaiting compaction).
    public var buffer: [UInt8] = []
    /// The most octets one response may take, streamed bodies not counted.
    public var maxResponseBytes: Int

    private var position = 0
    private var scanFrom = 0
    private var state = State.line
    /// The current response's octets before `position`, when it spans literals.
    private var pending: [UInt8] = []
    /// Streamed bodies in the current response so far.
    private var bodiesInResponse = 0

    public init(maxResponseBytes: Int = 64 << 20) {
        self.maxResponseBytes = maxResponseBytes
    }

    /// True while a body literal is being streamed: the caller may then read the next
    /// `bodyRemaining` octets straight into its own storage (see `consumeBodyBytes`).
    public var bodyRemaining: Int? {
        if case .body(let remaining) = state { return remaining }
        return nil
    }

    /// True when every received byte has been consumed.
    public var isDrained: Bool { position == buffer.count }

    /// Tells the framer that `count` octets of the current body literal were received outside
    /// `buffer` (read directly into the caller's storage). Only valid while `isDrained`.
    public mutating func consumeBodyBytes(_ count: Int) {
        guard case .body(let remaining) = state, isDrained, count <= remaining else {
            preconditionFailure("consumeBodyBytes outside a drained body literal")
        }
        state = .body(remaining: remaining - count)
    }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() throws(IMAPProtocolError) -> Event? {
        while true {
            switch state {
            case .body(let remaining):
                if remaining == 0 {
                    state = .line
                    scanFrom = position
                    return .bodyEnd
                }
                let available = buffer.count - position
                guard available > 0 else { compact(); return nil }
                let take = min(available, remaining)
                let slice = buffer[position..<(position + take)]
                position += take
                state = .body(remaining: remaining - take)
                return .bodyBytes(slice)
            case .literal(let remaining):
                let available = buffer.count - position
                guard available > 0 else { compact(); return nil }
                let take = min(available, remaining)
                pending.append(contentsOf: buffer[position..<(position + take)])
                position += take
                if take == remaining {
                    state = .line
                    scanFrom = position
                } else {
                    state = .literal(remaining: remaining - take)
                }
            case .line:
                guard let lineFeed = buffer[scanFrom...].firstIndex(of: Self.lf) else {
                    scanFrom = buffer.count
                    guard pending.count + (buffer.count - position) <= maxResponseBytes else {
                        throw IMAPProtocolError(.tooLarge, "a response line passed \(maxResponseBytes) bytes")
                    }
                    compact()
                    return nil
                }
                guard pending.count + (lineFeed + 1 - position) <= maxResponseBytes else {
                    throw IMAPProtocolError(.tooLarge, "a response passed \(maxResponseBytes) bytes")
                }
                if let (length, brace) = Self.literalAnnouncement(endingAt: lineFeed, in: buffer, from: position) {
                    if isBodyLiteral(braceAt: brace) {
                        pending.append(contentsOf: buffer[position..<brace])
                        pending.append(contentsOf: Array("%\(bodiesInResponse)".utf8))
                        bodiesInResponse += 1
                        position = lineFeed + 1
                        state = .body(remaining: length)
                        return .bodyStart(length: length)
                    }
                    guard pending.count + (lineFeed + 1 - position) + length <= maxResponseBytes else {
                        throw IMAPProtocolError(.tooLarge, "a \(length)-octet literal passes the response limit of \(maxResponseBytes) bytes")
                    }
                    pending.append(contentsOf: buffer[position...lineFeed])
                    position = lineFeed + 1
                    state = .literal(remaining: length)
                    if length == 0 { state = .line; scanFrom = position }
                    continue
                }
                let response: [UInt8]
                if pending.isEmpty {
                    response = Array(buffer[position...lineFeed])
                } else {
                    pending.append(contentsOf: buffer[position...lineFeed])
                    response = pending
                    pending = []
                }
                position = lineFeed + 1
                scanFrom = position
                bodiesInResponse = 0
                return .response(response)
            }
        }
    }

    /// Drops consumed bytes once they are worth moving.
    private mutating func compact() {
        if position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else if position >= 1 << 16 {
            buffer.removeSubrange(0..<position)
        } else {
            return
        }
        scanFrom -= position
        position = 0
    }

    private static let lf = UInt8(ascii: "\n")

    /// `{n}` or `{n+}` (RFC 7888) right before the CRLF (or bare LF) at `lineFeed`: the length and
    /// the index of `{`.
    static func literalAnnouncement(endingAt lineFeed: Int, in bytes: [UInt8], from start: Int) -> (Int, Int)? {
        var i = lineFeed - 1
        if i >= start && bytes[i] == UInt8(ascii: "\r") { i -= 1 }
        guard i >= start, bytes[i] == UInt8(ascii: "}") else { return nil }
        i -= 1
        if i >= start && bytes[i] == UInt8(ascii: "+") { i -= 1 }
        let digitsEnd = i + 1
        var length = 0
        while i >= start, bytes[i] >= 0x30, bytes[i] <= 0x39 { i -= 1 }
        guard i >= start, bytes[i] == UInt8(ascii: "{"), (1...10).contains(digitsEnd - (i + 1)) else { return nil }
        for digit in bytes[(i + 1)..<digitsEnd] { length = length * 10 + Int(digit - 0x30) }
        guard length <= Int(UInt32.max) else { return nil }
        return (length, i)
    }

    /// A literal is a FETCH body when the response is `* n FETCH` and the item before `{` is a body
    /// section (`…]`, `…]<origin>`) or one of RFC 3501's RFC822 items.
    private func isBodyLiteral(braceAt brace: Int) -> Bool {
        let head: ArraySlice<UInt8> = pending.isEmpty ? buffer[position..<brace] : pending[...]
        guard Self.isFetchResponse(head) else { return false }
        var end = brace
        while end > position, buffer[end - 1] == UInt8(ascii: " ") { end -= 1 }
        guard end > position else { return false }
        switch buffer[end - 1] {
        case UInt8(ascii: "]"), UInt8(ascii: ">"):
            return true
        default:
            var start = end
            while start > position, buffer[start - 1] != UInt8(ascii: " "), buffer[start - 1] != UInt8(ascii: "(") {
                start -= 1
            }
            let word = String(decoding: buffer[start..<end], as: UTF8.self).uppercased()
            return word == "RFC822" || word == "RFC822.TEXT" || word == "RFC822.HEADER"
        }
    }

    /// `* <number> FETCH ` at the start.
    private static func isFetchResponse(_ head: ArraySlice<UInt8>) -> Bool {
        var i = head.startIndex
        guard head.count > 10, head[i] == UInt8(ascii: "*"), head[i + 1] == UInt8(ascii: " ") else { return false }
        i += 2
        let digitsStart = i
        while i < head.endIndex, head[i] >= 0x30, head[i] <= 0x39 { i += 1 }
        guard i > digitsStart, i + 7 <= head.endIndex, head[i] == UInt8(ascii: " ") else { return false }
        let word = head[(i + 1)..<(i + 6)].map { $0 & 0xDF }
        return word == Array("FETCH".utf8) && head[i + 6] == UInt8(ascii: " ")
    }
}
