import MailStore

/// A job kind that does nothing: what is left to measure is the queue itself (claim, lease,
/// completion). The queue benchmark runs it; operators can enqueue it to check a replica claims work.
public struct NoopJobHandler: JobHandler {
    public init() {}

    public func handle(_ job: Job) async throws {}
}
