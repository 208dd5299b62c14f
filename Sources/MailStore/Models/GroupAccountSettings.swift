import MailCore

/// Every administrator-set column of a group account, as `mailroom apply` writes it.
public struct GroupAccountSettings: Sendable, Equatable {
    public var name: String
    public var address: String
    public var displayName: String?
    public var replyTo: String?
    public var isActive: Bool
    public var imapHost: String
    public var imapPort: Int
    public var imapSecurity: String
    public var imapVerifyTLS: Bool
    public var imapUsername: String
    public var fetchSince: String?
    public var keepUnread: Bool
    public var maxMessageSize: Int
    public var pollIntervalSeconds: Int
    public var sentFolder: String?
    public var smtpHost: String?
    public var smtpPort: Int?
    public var smtpSecurity: String
    public var smtpVerifyTLS: Bool
    public var smtpUsername: String?
    public var smtpAuth: String
    /// `password` or `oauth2`.
    public var imapAuth: String = "password"
    /// The OAuth client (`oauth_client.id`) when IMAP or SMTP logs in with a token.
    public var oauthClientID: Int64?
    public var smtpShared: Bool
    public var smtpStoreSent: Bool
    public var smtpMaxConnections = 3
    public var caseCreate: Bool
    public var caseDistribution: String
    public var caseTeamID: TeamID?
    public var casePosition: String?
    public var caseAssignUserID: UserID?
    public var caseAddAllTeamUsers: Bool
    public var caseReopenEnabled: Bool
    public var caseReopenStatus: String
    public var caseNumberTrust: String
    public var autoReplyEnabled: Bool
    public var autoReplySubject: String?
    public var autoReplyBody: String?
    public var autoReplyFromAddress: String?
    public var autoReplyFromName: String?
    public var autoReplyReplyTo: String?
    public var autoReplyLimitCount: Int
    public var autoReplyLimitWindowSeconds: Int

    public init(name: String, address: String, displayName: String?, replyTo: String?, isActive: Bool, imapHost: String,
                imapPort: Int, imapSecurity: String, imapVerifyTLS: Bool, imapUsername: String, fetchSince: String?,
                keepUnread: Bool, maxMessageSize: Int, pollIntervalSeconds: Int, sentFolder: String?, smtpHost: String?,
                smtpPort: Int?, smtpSecurity: String, smtpVerifyTLS: Bool, smtpUsername: String?, smtpAuth: String,
                smtpShared: Bool, smtpStoreSent: Bool, caseCreate: Bool, caseDistribution: String, caseTeamID: TeamID?,
                casePosition: String?, caseAssignUserID: UserID?, caseAddAllTeamUsers: Bool, caseReopenEnabled: Bool,
                caseReopenStatus: String, caseNumberTrust: String, autoReplyEnabled: Bool, autoReplySubject: String?,
                autoReplyBody: String?, autoReplyFromAddress: String?, autoReplyFromName: String?,
                autoReplyReplyTo: String?, autoReplyLimitCount: Int, autoReplyLimitWindowSeconds: Int) {
        self.name = name; self.address = address; self.displayName = displayName; self.replyTo = replyTo
        self.isActive = isActive; self.imapHost = imapHost; self.imapPort = imapPort; self.imapSecurity = imapSecurity
        self.imapVerifyTLS = imapVerifyTLS; self.imapUsername = imapUsername; self.fetchSince = fetchSince
        self.keepUnread = keepUnread; self.maxMessageSize = maxMessageSize; self.pollIntervalSeconds = pollIntervalSeconds
        self.sentFolder = sentFolder; self.smtpHost = smtpHost; self.smtpPort = smtpPort; self.smtpSecurity = smtpSecurity
        self.smtpVerifyTLS = smtpVerifyTLS; self.smtpUsername = smtpUsername; self.smtpAuth = smtpAuth
        self.smtpShared = smtpShared; self.smtpStoreSent = smtpStoreSent; self.caseCreate = caseCreate
        self.caseDistribution = caseDistribution; self.caseTeamID = caseTeamID; self.casePosition = casePosition
        self.caseAssignUserID = caseAssignUserID; self.caseAddAllTeamUsers = caseAddAllTeamUsers
        self.caseReopenEnabled = caseReopenEnabled; self.caseReopenStatus = caseReopenStatus
        self.caseNumberTrust = caseNumberTrust; self.autoReplyEnabled = autoReplyEnabled
        self.autoReplySubject = autoReplySubject; self.autoReplyBody = autoReplyBody
        self.autoReplyFromAddress = autoReplyFromAddress; self.autoReplyFromName = autoReplyFromName
        self.autoReplyReplyTo = autoReplyReplyTo; self.autoReplyLimitCount = autoReplyLimitCount
        self.autoReplyLimitWindowSeconds = autoReplyLimitWindowSeconds
    }
}
