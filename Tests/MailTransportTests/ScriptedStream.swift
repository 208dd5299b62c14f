@testable import MailTransport

/// An in-memory `ByteStream` that plays a recorded server transcript, for the pure framing and
/// state-machine tests of `IMAPClient`: each read returns the next chunk (at most `max` bytes of
/// it), then 0 (the server closed). What the client writes is kept for inspection.
final class ScriptedStream: ByteStream {
    private var chunks: [[UInt8]]
    private(set) var written: [UInt8] = []
    private(set) var closed = false
    private(set) var isTLS = false

    init(_ chunks: [[UInt8]]) { self.chunks = chunks.filter { !$0.isEmpty } }

    /// A transcript written with "\n" line ends (sent as CRLF), cut into reads after the byte
    /// offsets `cuts`.
    convenience init(_ transcript: String, cuts: [Int] = []) {
        let bytes = Array(transcript.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
        var pieces: [[UInt8]] = []
        var start = 0
        for cut in cuts.sorted() where cut > start && cut < bytes.count {
            pieces.append(Array(bytes[start..<cut]))
            start = cut
        }
        pieces.append(Array(bytes[start...]))
        self.init(pieces)
    }

    var writtenText: String { String(decoding: written, as: UTF8.self) }

    func write(_ bytes: [UInt8]) throws(TransportError) {
        guard !closed else { throw TransportError(.connectionLost, detail: "closed") }
        written += bytes
    }

    func read(into buffer: inout [UInt8], max: Int) throws(TransportError) -> Int {
        guard !closed else { throw TransportError(.connectionLost, detail: "closed") }
        guard !chunks.isEmpty else { return 0 }
        var chunk = chunks.removeFirst()
        if chunk.count > max {
            chunks.insert(Array(chunk[max...]), at: 0)
            chunk = Array(chunk[..<max])
        }
        buffer += chunk
        return chunk.count
    }

    func startTLS() throws(TransportError) { isTLS = true }

    func close() { closed = true }
}
