import MailCore

extension IMAPSession {
    /// FOR BENCHMARKS: every message body of `folder`, fetched as the importer fetches them
    /// (`fetchMessages`: pipelined `UID FETCH set (UID BODY.PEEK[])`) and dropped. Returns how many
    /// messages arrived and their total bytes; a UID that could not be fetched throws.
    public func fetchAllBodiesForBenchmark(folder: String, uidsPerCommand: Int = 64, pipelineDepth: Int = 4) throws
        -> (count: Int, bytes: Int)
    {
        _ = try examine(folder)
        let uids = try searchUIDs(folder, after: nil)
        var count = 0
        var bytes = 0
        try fetchMessages(folder, uids: uids, maxBytesPerMessage: nil, uidsPerCommand: uidsPerCommand,
                          pipelineDepth: pipelineDepth) { uid, result in
            bytes += try result.get().count
            count += 1
        }
        return (count, bytes)
    }
}
