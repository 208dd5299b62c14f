import Foundation
import MailCore
import MailProtocol

extension IMAPSession {
    /// FOR BENCHMARKS ONLY: fetches the complete messages `uids` of `folder` the fastest way libcurl
    /// can — batched `UID FETCH a:b BODY.PEEK[]` custom requests on this session's one connection —
    /// stores nothing, and returns the total bytes the server sent (literals and protocol lines, as
    /// the header callback received them).
    ///
    /// **Never use this to read real mail.** libcurl reads custom responses line by line: a body
    /// line starting with `* ` is taken for a response, and one starting with the command's tag
    /// ends the command early with success. The bytes are only counted, never parsed or kept; the
    /// caller checks the count against the messages' sizes. The benchmark's generated messages
    /// contain no such lines.
    ///
    /// Batches: Debian's libcurl 7.88.1 fails large custom responses with 56 ("Too large response
    /// headers", a budget of about 300 KB per command), so the messages' RFC822.SIZE (fetched
    /// first, part of the work measured) packs each batch below `batchBudget` bytes, and a batch
    /// that still fails is halved. A single message too large for any custom command is fetched by
    /// URL instead (`fetchMessage`, which sets `\Seen`).
    public func fetchBodiesForBenchmark(folder: String, uids: [UID], batchBudget: Int = 250_000) throws -> Int {
        let sizes = try benchmarkSizes(folder, uids: uids)
        var total = 0
        var batch: [UID] = []
        var batchBytes = 0
        for uid in uids.sorted() {
            let size = sizes[uid] ?? 0
            if !batch.isEmpty && batchBytes + size > batchBudget {
                total += try fetchBodyBatch(folder, batch)
                batch = []
                batchBytes = 0
            }
            batch.append(uid)
            batchBytes += size
        }
        if !batch.isEmpty { total += try fetchBodyBatch(folder, batch) }
        return total
    }

    /// RFC822.SIZE of each UID, in chunks of 100 short `FETCH (UID RFC822.SIZE)` lines, halving a
    /// chunk libcurl finds too large.
    private func benchmarkSizes(_ folder: String, uids: [UID]) throws -> [UID: Int] {
        func chunk(_ set: UIDSet) throws -> [MessageMetadata] {
            do {
                return try command("UID FETCH \(set) (UID RFC822.SIZE)", in: folder, IMAPResponseParser.fetchMetadata)
            } catch let error as TransportError where error.code == .responseTooLarge && set.count > 1 {
                return try set.chunked(maxCount: (set.count + 1) / 2).flatMap(chunk)
            }
        }
        let metas = try UIDSet(uids).chunked(maxCount: 100).flatMap(chunk)
        return Dictionary(metas.map { ($0.uid, $0.size) }, uniquingKeysWith: { a, _ in a })
    }

    /// One `UID FETCH set BODY.PEEK[]`; the byte count of the server's answer.
    private func fetchBodyBatch(_ folder: String, _ uids: [UID]) throws -> Int {
        do {
            return try command("UID FETCH \(UIDSet(uids)) BODY.PEEK[]", in: folder) { stream in
                // Only the final line is checked (a full parse would add work the floor must not
                // carry): it must be the tagged OK. NO/BAD already failed the transfer (21).
                guard Self.endsWithTaggedOK(stream) else {
                    throw TransportError(.protocolError, detail: "benchmark fetch did not end with a tagged OK")
                }
                return stream.count
            }
        } catch let error as TransportError where error.code == .responseTooLarge {
            guard uids.count > 1 else { return try fetchMessage(folder, uid: uids[0]).count }
            let half = (uids.count + 1) / 2
            return try fetchBodyBatch(folder, Array(uids[..<half])) + fetchBodyBatch(folder, Array(uids[half...]))
        }
    }

    /// True when the stream's last line is `<tag> OK …`.
    static func endsWithTaggedOK(_ stream: [UInt8]) -> Bool {
        guard stream.count >= 2, stream[stream.count - 2] == 13, stream[stream.count - 1] == 10 else { return false }
        var start = stream.count - 2
        while start > 0 && stream[start - 1] != 10 { start -= 1 }
        let line = stream[start..<(stream.count - 2)]
        guard line.first != UInt8(ascii: "*"), let space = line.firstIndex(of: 32) else { return false }
        return line[(space + 1)...].starts(with: Array("OK".utf8))
    }
}
