import MailCore

extension Manifest {
    /// A signed webhook endpoint of the tenant (`webhooks[]`, docs/webhooks.md).
    public struct Webhook: Sendable, Equatable {
        /// Unique within the tenant; what `mailroom events replay --endpoint` names.
        public var name: String
        /// `https://` (plain `http://` only for hosts in `MAILROOM_INSECURE_HOSTS`).
        public var url: String
        /// Event types delivered; empty: every type.
        public var events: [String]
        /// The signing secret (`Mailroom-Signature`), sealed when applied.
        public var secret: Secret
        /// How long an endpoint may fail before it is disabled.
        public var retryWindow: Duration
        /// Events per POST (`batch`): 1 sends each event alone; more sends `{"events": [...]}`.
        public var batchSize: Int

        public static let defaultRetryWindow: Duration = .seconds(3 * 86400)
        /// What `batch` may be (the CHECK on `webhook_endpoint.batch_size`).
        public static let batchSizes = 1...1000

        public init(name: String, url: String, events: [String] = [], secret: Secret, retryWindow: Duration = Self.defaultRetryWindow,
                    batchSize: Int = 1) {
            self.name = name
            self.url = url
            self.events = events
            self.secret = secret
            self.retryWindow = retryWindow
            self.batchSize = batchSize
        }
    }
}
