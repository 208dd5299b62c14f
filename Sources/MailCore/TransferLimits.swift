/// The operator's bounds on message bodies held in memory.
public struct TransferLimits: Sendable, Equatable {
    public static let maxMessageSizeVariable = "MAILROOM_MAX_MESSAGE_SIZE"
    public static let fetchBudgetVariable = "MAILROOM_FETCH_BUDGET"

    /// Ceiling over every account's `max_message_size`: the effective limit is the smaller one.
    public var maxMessageSize: Int
    /// Body bytes one worker process may hold in flight across all its fetches.
    public var fetchBudget: Int

    public static let defaultMaxMessageSize = 50 << 20
    public static let defaultFetchBudget = 256 << 20

    public init(maxMessageSize: Int = defaultMaxMessageSize, fetchBudget: Int = defaultFetchBudget) {
        self.maxMessageSize = maxMessageSize
        self.fetchBudget = fetchBudget
    }

    /// The account's limit under the operator's ceiling.
    public func effectiveLimit(account: Int) -> Int { max(0, min(account, maxMessageSize)) }

    /// Reads both settings (bytes, optionally with a `KiB`/`MiB`/`GiB` suffix); unset means the
    /// default, anything malformed or not positive is an error.
    public static func fromEnvironment(_ environment: [String: String]) throws(SettingError) -> TransferLimits {
        var limits = TransferLimits()
        if let text = environment[maxMessageSizeVariable] {
            limits.maxMessageSize = try parseBytes(text, setting: maxMessageSizeVariable)
        }
        if let text = environment[fetchBudgetVariable] {
            limits.fetchBudget = try parseBytes(text, setting: fetchBudgetVariable)
        }
        return limits
    }

    /// `1048576`, `512KiB`, `50MiB`, `1GiB`: a positive whole number of bytes.
    public static func parseBytes(_ text: String, setting: String) throws(SettingError) -> Int {
        let trimmed = text.trimmingASCIIWhitespace()
        var digits = Substring(trimmed)
        var multiplier = 1
        for (suffix, factor) in [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)] where trimmed.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            multiplier = factor
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits), value > 0 else {
            throw SettingError(setting, "\(quotedSetting(text)) is not a positive number of bytes (e.g. 52428800 or 50MiB)")
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw SettingError(setting, "\(quotedSetting(text)) is too large") }
        return product
    }
}
