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
}

/// Tenant-wide settings that linking and case handling read.
public struct TenantCaseSettings: Sendable, Equatable {
    public var businessToConsumer: Bool
    public var closedCaseStatuses: [String]
}
