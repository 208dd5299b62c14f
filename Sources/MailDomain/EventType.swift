/// The event types Mailroom writes (docs/events.md; one JSON Schema per type under docs/events/). A
/// webhook subscribes to some of them; a name outside this list is refused, so a typo cannot subscribe
/// an endpoint to nothing.
public enum EventType {
    public static let all: Set<String> = [
        "email.received", "email.linked", "email.queued", "email.sent", "email.send_failed", "email.bounced",
        "case.created", "case.assigned", "case.reopened",
        "account.connection_failed", "account.connection_restored", "account.reauth_required",
        "folder.stalled", "webhook.disabled",
    ]
}
