import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailIO
import MailStore
import MailTransport

/// Runs a `webhook` job (payload `{"endpoint": id}`; one live job per endpoint, queued at commit by
/// `mailroom_wake_webhooks` and every 5 minutes as catch-up): POSTs the endpoint's events after its
/// cursor, one POST per event in sequence order, over one connection, from an `IOThread` of its own.
///
/// A 2xx moves the cursor to that event in its own transaction (`WebhookQueries.webhookDelivered`);
/// at-least-once: a crash between the receiver's 2xx and that commit sends the event again.
/// Anything else (another status, 3xx included as redirects are not followed, a timeout, a refused
/// connection, an answer past the size cap) is counted on the endpoint and ends the run: the job is
/// postponed to the next attempt by `WebhookRetryPlan` (exponential backoff with jitter), or, once
/// the failures have lasted the endpoint's retry window, the endpoint is disabled and a
/// `webhook.disabled` event written. Postponing spends no job attempt: the window bounds the retries.
struct WebhookJobHandler: JobHandler {
    let pool: PostgresPool
    let secrets: SecretBox
    let settings: WebhookDeliverySettings
    let tenants: TenantDirectory
    let logger: Logger

    struct Payload: Decodable { var endpoint: Int64 }

    func handle(_ job: Job) async throws {
        let endpointID = try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8)).endpoint
        let tenant = job.tenantID
        var log = await tenants.logger(logger, tenant: tenant)
        log[metadataKey: "webhook_id"] = "\(endpointID)"
        let thread = IOThread(name: "webhook-\(endpointID)")
        defer { thread.stop() }
        var connection: WebhookConnection?
        let started = ContinuousClock.now
        let batch = settings.batchSize
        while true {
            let loaded = try await pool.transaction(tenant: tenant) { conn -> (WebhookEndpointRecord, [WebhookDelivery])? in
                guard let endpoint = try WebhookQueries.webhookGet(conn, tenant: tenant, id: endpointID), endpoint.enabled else { return nil }
                if let next = endpoint.nextAttemptAt, next > Date() { return (endpoint, []) }
                return (endpoint, try WebhookQueries.webhookPending(conn, tenant: tenant, types: endpoint.eventTypes,
                                                                     after: endpoint.cursor, max: batch))
            }
            guard let (endpoint, deliveries) = loaded else { return }  // gone or disabled
            if let next = endpoint.nextAttemptAt, next > Date() {
                throw JobPostponed(until: next, reason: "endpoint backing off after a failure")
            }
            guard !deliveries.isEmpty else { return }
            guard let sealed = endpoint.secret else {
                try await fail(endpoint, status: nil, error: "the endpoint has no secret (run mailroom apply)", log: log)
                return
            }
            let secret = try secrets.openSecret(sealed, context: WebhookEndpointRecord.secretContext(tenant: tenant, endpoint: endpointID))
            var cursor = endpoint.cursor
            for delivery in deliveries {
                let outcome = await post(delivery, secret: secret, endpoint: endpoint, connection: &connection, thread: thread)
                switch outcome {
                case .success(let answer) where answer.isAcknowledgement:
                    let from = cursor
                    let moved = try await pool.transaction(tenant: tenant) { conn in
                        try WebhookQueries.webhookDelivered(conn, tenant: tenant, id: endpointID, from: from, seq: delivery.seq,
                                                            status: answer.status)
                    }
                    // Replayed, disabled or deleted meanwhile: whoever did it woke the job again.
                    guard moved else { return }
                    cursor = delivery.seq
                case .success(let answer):
                    let redirect = (300..<400).contains(answer.status) ? " (redirects are not followed)" : ""
                    try await fail(endpoint, status: answer.status, error: "HTTP \(answer.status)\(redirect) for event \(delivery.seq)", log: log)
                    return
                case .failure(let error):
                    try await fail(endpoint, status: nil, error: "\(error) (event \(delivery.seq))", log: log)
                    return
                }
            }
            if deliveries.count < batch { return }
            if ContinuousClock.now - started > settings.runBudget {
                throw JobPostponed(until: Date(), reason: "more events to deliver after this run's budget")
            }
        }
    }

    /// One POST on the job's thread, opening the connection at the first one (kept for the next).
    private func post(_ delivery: WebhookDelivery, secret: Secret, endpoint: WebhookEndpointRecord,
                      connection: inout WebhookConnection?, thread: IOThread) async -> Result<WebhookAnswer, TransportError> {
        let target = WebhookTarget(url: endpoint.url, policy: settings.outboundPolicy, connectTimeout: settings.connectTimeout,
                                   totalTimeout: settings.totalTimeout, maxResponseBytes: settings.maxResponseBytes)
        let existing = connection
        let body = delivery.body
        let headers = [
            "Content-Type: application/json",
            "User-Agent: Mailroom-Webhooks/1",
            "Mailroom-Event-Id: \(delivery.eventID)",
            "\(WebhookSignature.headerName): \(WebhookSignature.header(secret: secret, timestamp: Int64(Date().timeIntervalSince1970), body: Array(body.utf8)))",
        ]
        do {
            let (answer, used) = try await thread.run { () throws -> (WebhookAnswer, WebhookConnection) in
                let c = try existing ?? WebhookConnection(target)
                return (try c.post(body, headers: headers), c)
            }
            connection = used
            return .success(answer)
        } catch let error as TransportError {
            connection = nil  // a failed transfer may leave the connection unusable
            return .failure(error)
        } catch {
            connection = nil
            return .failure(TransportError(.protocolError, detail: "\(error)", service: "webhook"))
        }
    }

    /// Counts a failed attempt and decides: postpone the job to the next attempt (thrown), or disable
    /// the endpoint with its `webhook.disabled` event.
    private func fail(_ endpoint: WebhookEndpointRecord, status: Int?, error: String, log: Logger) async throws {
        let tenant = endpoint.tenantID, id = endpoint.id, backoff = settings.backoff, window = endpoint.retryWindow
        let plan = try await pool.transaction(tenant: tenant) { conn -> WebhookRetryPlan? in
            guard let run = try WebhookQueries.webhookFailed(conn, tenant: tenant, id: id, status: status, error: error) else { return nil }
            let plan = WebhookRetryPlan.afterFailure(failures: run.failures, failingSince: run.failingSince, now: run.now,
                                                     window: window, backoff: backoff, unit: Double.random(in: 0..<1))
            switch plan {
            case .retry(let at):
                try WebhookQueries.webhookScheduleRetry(conn, tenant: tenant, id: id, at: at)
            case .disable:
                try WebhookQueries.webhookDisable(
                    conn, tenant: tenant, id: id,
                    reason: "failing for longer than its retry window (\(Int(window)) s); last error: \(error)")
            }
            return plan
        }
        switch plan {
        case .retry(let at)?:
            log.warning("webhook delivery failed", metadata: ["endpoint": "\(endpoint.name)", "error": "\(error)", "retry_at": "\(at)"])
            throw JobPostponed(until: at, reason: "webhook delivery failed: \(error)")
        case .disable?:
            log.error("webhook endpoint disabled", metadata: ["endpoint": "\(endpoint.name)", "error": "\(error)"])
        case nil:
            return
        }
    }
}
