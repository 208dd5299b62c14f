import MailCore
import MailDomain

/// An account's Email-to-Case settings (the `case_*` columns of `mail_account`).
public struct CaseRules: Sendable, Equatable {
    public var create: Bool
    /// How a new case finds its assignee (the column is never NULL: `direct` by default).
    public var distribution: CaseDistribution.Mode
    public var teamID: TeamID?
    public var position: String?
    /// `direct`: the assignee; otherwise the fallback when no team user is eligible.
    public var assignUserID: UserID?
    public var reopenEnabled: Bool
    public var reopenStatus: String
    /// `related` or `any`.
    public var numberTrust: String
    /// The storm breaker's limits (`case_sender_limit_*`).
    public var senderLimit = SenderLimit()
}

/// At most `cases` new cases and `reopens` reopenings per sender and tenant within `window`
/// (`case.sender_limit`; the defaults are Odoo's 20 records per sender in 120 minutes). Past that, the
/// sender's mail is stored and linked but opens nothing, reopens nothing and gets no auto-reply.
public struct SenderLimit: Sendable, Equatable {
    /// What the `case_sender_limit_*` columns accept (their CHECK constraints).
    public static let counts = 1...10_000
    public static let windows = Duration.seconds(60)...Duration.seconds(30 * 86_400)

    public var cases: Int
    public var reopens: Int
    public var window: Duration

    public init(cases: Int = 20, reopens: Int = 20, window: Duration = .seconds(2 * 3600)) {
        self.cases = cases
        self.reopens = reopens
        self.window = window
    }
}

/// Tenant-wide settings that linking and case handling read.
public struct TenantCaseSettings: Sendable, Equatable {
    public var businessToConsumer: Bool
    public var closedCaseStatuses: [String]
}
