import Foundation
import MailCore

/// A claimed job, as its handler sees it.
public struct Job: Sendable, Equatable {
    public var id: Int64
    public var tenantID: TenantID
    public var kind: String
    /// JSON text of the payload.
    public var payload: String
    public var attempt: Int
    public var maxAttempts: Int
    /// Fences completion: only the claim that holds this epoch may finish the job.
    public var leaseEpoch: Int64
    public var isPeriodic: Bool
    /// Seconds from when the job fell due (`run_at`) to its claim, by the database's clock.
    public var waited: Double = 0
    /// When this process received the claim (its own clock): with `waited`, how late a job starts.
    public var claimedAt = Date()
}

/// How a job ended, for the batched completion statement.
public struct JobOutcome: Sendable, Equatable {
    /// `postponed`: ready again at `retryAt` with the attempt not counted (`MailWorker.JobPostponed`).
    public enum Result: String, Sendable { case done, retry, failed, postponed }
    public var id: Int64
    public var leaseEpoch: Int64
    public var result: Result
    /// For `retry`: when to run again.
    public var retryAt: Date?
    public var error: String?

    public init(id: Int64, leaseEpoch: Int64, result: Result, retryAt: Date? = nil, error: String? = nil) {
        self.id = id
        self.leaseEpoch = leaseEpoch
        self.result = result
        self.retryAt = retryAt
        self.error = error
    }
}
