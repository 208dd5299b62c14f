import MailCore

/// What one poll of one folder did.
public struct ImportReport: Sendable, Equatable {
    public var tenantID: TenantID
    public var accountID: AccountID
    public var folderID: FolderID
    public var imported = 0
    /// Messages whose Message-ID the tenant already held (linked, not duplicated).
    public var linkedExisting = 0
    public var failed = 0
    public var retriedOK = 0
    public var headerOnly = 0
    /// Messages a global or account filter skipped (not imported; counted on the folder).
    public var skipped = 0
    public var uidValidityChanged = false
    /// Set when the poll itself failed (connection, login, server error).
    public var error: String?
    /// The folder's UIDNEXT as the poll saw it (nil when the poll failed before EXAMINE).
    public var uidNext: UID?

    public init(tenantID: TenantID, accountID: AccountID, folderID: FolderID) {
        self.tenantID = tenantID
        self.accountID = accountID
        self.folderID = folderID
    }

    public var fetchedAnything: Bool { imported + linkedExisting + failed + retriedOK + skipped > 0 }
}
