import Foundation

/// Decides when an SMTP failure of an account is worth telling people about: a connection or
/// authentication failure (the account is broken for everyone), at most once a day per account.
/// A refused recipient or message is the sender's business, not an account alert.
public enum SMTPAlertPolicy {
    public static let interval: TimeInterval = 24 * 3600

    /// Whether to alert now, given when the account's people were last alerted.
    public static func shouldAlert(isAccountFailure: Bool, lastAlertedAt: Date?, now: Date) -> Bool {
        guard isAccountFailure else { return false }
        guard let last = lastAlertedAt else { return true }
        return now.timeIntervalSince(last) >= interval
    }
}
