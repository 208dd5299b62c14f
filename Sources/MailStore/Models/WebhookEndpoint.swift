import Foundation
import MailCore

/// A webhook endpoint with its delivery state, as the delivery job reads it (`webhook_endpoint`,
/// migrations/0020_webhooks.sql).
public struct WebhookEndpointRecord: Sendable, Equatable {
    public var tenantID: TenantID
    public var id: Int64
    public var name: String
    public var url: String
    /// Empty: every type.
    public var eventTypes: [String]
    /// Sealed with the credentials key, bound to `secretContext`; nil until `mailroom apply` set it.
    public var secret: [UInt8]?
    public var enabled: Bool
    /// The last sequence number delivered.
    public var cursor: Int64
    public var consecutiveFailures: Int
    public var failingSince: Date?
    public var nextAttemptAt: Date?
    /// Seconds.
    public var retryWindow: Double
    /// Events per POST: 1 sends each envelope alone, more sends `{"events": [...]}` (docs/webhooks.md).
    public var batchSize: Int = 1

    /// What the sealed secret is bound to: this row and column.
    public static func secretContext(tenant: TenantID, endpoint: Int64) -> String {
        "webhook_endpoint/\(tenant)/\(endpoint)/secret"
    }
}

/// One event ready to go to an endpoint: its sequence number and id, and the JSON body of the POST
/// (the envelope: seq, id, type, version, occurred_at in UTC, payload).
public struct WebhookDelivery: Sendable, Equatable {
    public var seq: Int64
    public var eventID: String
    public var body: String

    public init(seq: Int64, eventID: String, body: String) {
        self.seq = seq
        self.eventID = eventID
        self.body = body
    }
}

/// An endpoint as `mailroom status` shows it (never its secret).
public struct WebhookEndpointStatus: Sendable, Equatable {
    public var name: String
    public var url: String
    public var enabled: Bool
    public var disabledReason: String?
    public var cursor: Int64
    /// The tenant's last event number: `lastSeq - cursor` bounds what is still to deliver.
    public var lastSeq: Int64
    public var consecutiveFailures: Int
    public var lastError: String?
}
