/// A delivery report (bounce) recognised in an imported email: which recipients of which outbound email
/// failed, were delayed or were delivered, and why. Built by `recognize(_:)` from plain values, so the
/// rules are tested without a mail server; `docs/bounces.md` lists the formats and the classification.
public struct DeliveryReport: Sendable, Equatable {
    /// What the reporting system did for a recipient (RFC 3464 §2.3.3).
    public enum Action: String, Sendable {
        case failed, delayed, delivered, relayed, expanded
    }

    /// Whether retrying the address can help: `hard` means it cannot (no such user or domain, a permanent
    /// refusal), `soft` that the condition is expected to pass (mailbox full, greylisting, 4.x.x).
    public enum Severity: String, Sendable {
        case hard, soft
    }

    public struct Recipient: Sendable, Equatable {
        /// The recipient address as we sent to it (Original-Recipient when given, else Final-Recipient), lower-cased.
        public var address: String
        public var action: Action
        /// The enhanced status code (`5.1.1`, RFC 3463), when the report gives one.
        public var status: String?
        /// The remote server's explanation, trimmed, on one line, at most `DeliveryReport.maxDiagnosticLength` characters.
        public var diagnostic: String?
        /// Set only when `action` is `failed` or `delayed`; nil for delivered, relayed and expanded.
        public var severity: Severity?

        public init(address: String, action: Action, status: String? = nil, diagnostic: String? = nil, severity: Severity? = nil) {
            self.address = address
            self.action = action
            self.status = status
            self.diagnostic = diagnostic
            self.severity = severity
        }

        /// True only for `failed`: a delayed message may still arrive, and delivered/relayed/expanded are successes.
        public var isFailure: Bool { action == .failed }
    }

    public var recipients: [Recipient]
    /// Message-IDs (without angle brackets) that may name the email the report answers, most trustworthy
    /// first: the returned message or headers, then the report's In-Reply-To and References, then ids
    /// written in the report's text.
    public var originalMessageIDs: [String]
    /// Which form was recognised: `rfc3464`, `postfix`, `qmail`, `exim`, `sendmail`, `exchange`, `gmail`,
    /// `yahoo`, `amazon-ses`, `haraka`, `x-failed-recipients` (for docs and metrics).
    public var format: String

    public init(recipients: [Recipient], originalMessageIDs: [String], format: String) {
        self.recipients = recipients
        self.originalMessageIDs = originalMessageIDs
        self.format = format
    }

    /// The recipients whose delivery failed for good (`action == .failed`).
    public var failures: [Recipient] { recipients.filter(\.isFailure) }

    /// Diagnostics longer than this are cut (they are stored and shown, never parsed further).
    public static let maxDiagnosticLength = 500
}
