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
/// cursor in sequence order, one POST per event (or per batch of `batch_size` events, `WebhookRequest`),
/// over one connection, from an `IOThread` of its own.
///
/// 2xx answers move the cursor (`WebhookQueries.webhookDelivered`), recorded together every
/// `acknowledgementBatch` events or `acknowledgementInterval`, at the end of each batch and before a
/// failure; at-least-once: a crash before that commit sends those events again.
/// Anything else (another status, 3xx included as redirects are not followed, a timeout, a refused
/// connection, an answer past the size cap) is counted on the endpoint and ends the run, once the
/// quick retries of a "not now" answer (`WebhookDeliverySettings.quickRetryDelays`) failed too: the job is
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
                                                                     after: endpoint.cursor, max: Self.readSize(batch, endpoint)))
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
            // Acknowledged events are recorded together: every `acknowledgementBatch` events or
            // `acknowledgementInterval`, at the end of the batch, and before a failure is recorded.
            var acks = Acknowledgements(cursor: endpoint.cursor)
            let requests = WebhookRequest.requests(deliveries, batchSize: endpoint.batchSize)
            for (i, request) in requests.enumerated() {
                var outcome = await post(request, secret: secret, endpoint: endpoint, connection: &connection, thread: thread)
                for pause in settings.quickRetryDelays where Self.worthRetryingAtOnce(outcome) {
                    try await Task.sleep(for: pause)
                    outcome = await post(request, secret: secret, endpoint: endpoint, connection: &connection, thread: thread)
                }
                switch outcome {
                case .success(let answer) where answer.isAcknowledgement:
                    acks.acknowledge(request.lastSeq, events: request.count, status: answer.status)
                    if acks.count >= settings.acknowledgementBatch || i == requests.count - 1
                        || ContinuousClock.now - acks.since >= settings.acknowledgementInterval {
                        // Replayed, disabled or deleted meanwhile: whoever did it woke the job again.
                        guard try await record(&acks, tenant: tenant, endpoint: endpointID) else { return }
                    }
                case .success(let answer):
                    guard try await record(&acks, tenant: tenant, endpoint: endpointID) else { return }
                    let redirect = (300..<400).contains(answer.status) ? " (redirects are not followed)" : ""
                    try await fail(endpoint, status: answer.status, error: "HTTP \(answer.status)\(redirect) for \(request.events)", log: log)
                    return
                case .failure(let error):
                    guard try await record(&acks, tenant: tenant, endpoint: endpointID) else { return }
                    try await fail(endpoint, status: nil, error: "\(error) (\(request.events))", log: log)
                    return
                }
            }
            if deliveries.count < Self.readSize(batch, endpoint) { return }
            if ContinuousClock.now - started > settings.runBudget {
                throw JobPostponed(until: Date(), reason: "more events to deliver after this run's budget")
            }
        }
    }

    /// Events read per database round trip: the settings' batch, or the endpoint's batch when larger.
    static func readSize(_ batch: Int, _ endpoint: WebhookEndpointRecord) -> Int { max(batch, endpoint.batchSize) }

    /// Whether a failed POST is tried again at once (`WebhookDeliverySettings.quickRetryDelays`):
    /// answers and errors that say "not now" rather than "never" or "not within the time limit".
    static func worthRetryingAtOnce(_ outcome: Result<WebhookAnswer, TransportError>) -> Bool {
        switch outcome {
        case .success(let answer): return (500..<600).contains(answer.status) || answer.status == 408 || answer.status == 429
        case .failure(let error): return error.code == .connectFailed || error.code == .connectionLost
        }
    }

    /// Events acknowledged by the receiver and not yet recorded, after the recorded cursor.
    struct Acknowledgements {
        /// The cursor as last recorded.
        var cursor: Int64
        var last: (seq: Int64, status: Int)?
        var count = 0
        /// When the last recording was made (or the run began).
        var since = ContinuousClock.now

        mutating func acknowledge(_ seq: Int64, events: Int, status: Int) {
            last = (seq, status)
            count += events
        }
    }

    /// Moves the cursor over the acknowledged events in one transaction; false when the cursor was
    /// not where this run left it (replayed, disabled or deleted meanwhile). True with nothing to record.
    private func record(_ acks: inout Acknowledgements, tenant: TenantID, endpoint: Int64) async throws -> Bool {
        guard let (seq, status) = acks.last else { return true }
        let from = acks.cursor
        let moved = try await pool.transaction(tenant: tenant) { conn in
            try WebhookQueries.webhookDelivered(conn, tenant: tenant, id: endpoint, from: from, seq: seq, status: status)
        }
        acks = Acknowledgements(cursor: seq)
        return moved
    }

    /// One POST on the job's thread, opening the connection at the first one (kept for the next).
    private func post(_ request: WebhookRequest, secret: Secret, endpoint: WebhookEndpointRecord,
                      connection: inout WebhookConnection?, thread: IOThread) async -> Result<WebhookAnswer, TransportError> {
        let target = WebhookTarget(url: endpoint.url, policy: settings.outboundPolicy, connectTimeout: settings.connectTimeout,
                                   totalTimeout: settings.totalTimeout, maxResponseBytes: settings.maxResponseBytes)
        let existing = connection
        let body = request.body
        let headers = request.headers(secret: secret, time: Int64(Date().timeIntervalSince1970))
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
