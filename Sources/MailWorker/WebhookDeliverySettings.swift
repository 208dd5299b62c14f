import MailCore
import MailDomain

/// How the workers deliver webhooks (docs/webhooks.md): the limits of one POST, the retry backoff,
/// and how much one run of an endpoint's job sends before it yields its slot.
public struct WebhookDeliverySettings: Sendable {
    /// Where receivers may be (the operator's `MAILROOM_ALLOWED_HOSTS` / `MAILROOM_INSECURE_HOSTS`).
    public var outboundPolicy = OutboundPolicy()
    public var connectTimeout: Duration = .seconds(5)
    /// The whole POST: a receiver that hangs fails the attempt after this long.
    public var totalTimeout: Duration = .seconds(15)
    /// Largest answer read (headers and body); past it the attempt fails.
    public var maxResponseBytes = 64 * 1024
    public var backoff = WebhookRetryPlan.Backoff()
    /// Pauses before trying a failed POST again within the same run, before the endpoint backs off:
    /// for a 5xx, 408 or 429 answer or a refused or dropped connection (not a timeout: a hanging
    /// receiver would hold the slot for each try). A receiver that drops a request now and then (a
    /// rolling restart, one unhealthy instance behind its balancer) then costs a second, not the
    /// backoff, which with deliveries in order would hold up every later event.
    public var quickRetryDelays: [Duration] = [.zero, .milliseconds(100), .milliseconds(500), .seconds(2)]
    /// Acknowledged events recorded in one transaction at most (the events a crash may resend).
    public var acknowledgementBatch = 50
    /// The longest an acknowledgement waits to be recorded while more events go out.
    public var acknowledgementInterval: Duration = .milliseconds(100)
    /// Events read from the database at once.
    public var batchSize = 100
    /// One run of a job sends for at most this long, then yields its slot and runs again at once.
    public var runBudget: Duration = .seconds(30)

    public init() {}
}
