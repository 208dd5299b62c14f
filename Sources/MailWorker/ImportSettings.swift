import MailCore
import MailCrypto

/// Tunables of the import path. Defaults suit production; tests shrink delays.
public struct ImportSettings: Sendable {
    /// Messages stored per transaction. The cursor moves once per batch, so a crash re-fetches at most
    /// one batch (which dedupe then absorbs).
    public var batchSize = 50
    /// Attempts before a message that fails to fetch, parse or store is given up as `failed`.
    public var maxAttempts = 5
    /// First retry delay for a failed message; doubles each attempt.
    public var retryBaseDelay: Duration = .seconds(60)
    public var connectTimeout: Duration = .seconds(30)
    public var ioTimeout: Duration = .seconds(60)
    /// The master keys (`MAILROOM_SECRET_KEY`, `MAILROOM_PREVIOUS_SECRET_KEYS`) from which each tenant's
    /// Message-ID token keys are derived: tokens are signed with the current key and verified with all.
    /// Nil: replies thread back only through Message-IDs already stored, never through signed tokens.
    public var recordTokenKeys: SecretKeyring?

    /// The current master key of `recordTokenKeys`; setting it configures that key alone.
    public var recordTokenKey: SecretKey? {
        get { recordTokenKeys?.current }
        set { recordTokenKeys = newValue.map { try! SecretKeyring(current: $0) } }
    }

    /// The signer for `tenant`'s Message-ID tokens, when keys are configured.
    public func recordTokenSigner(for tenant: TenantID) -> RecordTokenSigner? {
        recordTokenKeys.map { RecordTokenSigner(keyring: $0, tenant: tenant) }
    }

    /// Where IMAP and SMTP connections may go (`MAILROOM_ALLOWED_HOSTS`, `MAILROOM_INSECURE_HOSTS`).
    /// The default is the strictest: global addresses only, verified TLS, no clear-text login.
    public var outboundPolicy = OutboundPolicy()
    /// The operator's message size ceiling and fetch budget; set with `setLimits`.
    public private(set) var limits = TransferLimits()
    /// Body bytes in flight across every fetch of this worker (one budget per process: copies of
    /// these settings share it).
    public private(set) var fetchBudget = ByteBudget(capacity: TransferLimits.defaultFetchBudget)

    /// Sets the ceiling and a new fetch budget of `limits.fetchBudget` bytes.
    public mutating func setLimits(_ limits: TransferLimits) {
        self.limits = limits
        fetchBudget = ByteBudget(capacity: limits.fetchBudget)
    }

    public init() {}
}
