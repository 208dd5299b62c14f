import Foundation
import MailCore
import MailCrypto
import MailStore

/// One POST to a webhook endpoint: a single event's envelope as the body, or, for an endpoint with
/// `batch_size` > 1, up to that many envelopes as `{"events": [...]}` in sequence order
/// (docs/webhooks.md). A 2xx acknowledges every event of the request at once.
struct WebhookRequest: Sendable, Equatable {
    let body: String
    /// The id of the single event, or nil for a batch (receivers deduplicate by each event's `id`).
    let eventID: String?
    let count: Int
    /// The first and last sequence numbers of the request's events.
    let firstSeq: Int64
    let lastSeq: Int64

    /// Consecutive requests of at most `batchSize` events each, covering `deliveries` in order.
    static func requests(_ deliveries: [WebhookDelivery], batchSize: Int) -> [WebhookRequest] {
        guard batchSize > 1 else {
            return deliveries.map { WebhookRequest(body: $0.body, eventID: $0.eventID, count: 1, firstSeq: $0.seq, lastSeq: $0.seq) }
        }
        return stride(from: 0, to: deliveries.count, by: batchSize).map { start in
            let chunk = deliveries[start..<min(start + batchSize, deliveries.count)]
            return WebhookRequest(body: "{\"events\":[" + chunk.map(\.body).joined(separator: ",") + "]}", eventID: nil,
                                  count: chunk.count, firstSeq: chunk.first!.seq, lastSeq: chunk.last!.seq)
        }
    }

    /// The request's headers, signed with `secret` at `time` (unix seconds).
    func headers(secret: Secret, time: Int64) -> [String] {
        var headers = ["Content-Type: application/json", "User-Agent: Mailroom-Webhooks/1"]
        if let eventID {
            headers.append("Mailroom-Event-Id: \(eventID)")
        } else {
            headers.append("Mailroom-Event-Count: \(count)")
        }
        headers.append("\(WebhookSignature.headerName): \(WebhookSignature.header(secret: secret, timestamp: time, body: Array(body.utf8)))")
        return headers
    }

    /// How log lines and `last_error` name the request's events.
    var events: String { count == 1 ? "event \(firstSeq)" : "events \(firstSeq)-\(lastSeq)" }
}
