import Foundation
import MailCore
import MailDomain

/// A mail account as the worker needs it: where to connect and how to import. Secrets stay sealed
/// here; only the worker opens them, right before connecting.
public struct MailAccountRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case group, personal }
    public var tenantID: TenantID
    public var id: AccountID
    public var kind: Kind
    public var name: String
    public var address: String
    public var ownerUserID: UserID?
    public var isActive: Bool
    public var imapHost: String?
    public var imapPort: Int?
    public var imapSecurity: String
    public var imapVerifyTLS: Bool
    public var imapUsername: String?
    public var imapSecret: [UInt8]?
    public var fetchSince: Date?
    public var keepUnread: Bool
    public var maxMessageSize: Int
    public var pollInterval: Duration
    public var addAllTeamUsers: Bool
    /// The tenant's `remote_images` setting, read with the account: how its sanitised HTML treats
    /// remote images.
    public var remoteImages: RemoteImagePolicy
    /// `password` or `oauth2` (the `imap_auth` column).
    public var imapAuth: String = "password"
    /// The OAuth client of an account that logs in with a token (IMAP or SMTP).
    public var oauthClientID: Int64? = nil

    /// Associated data binding a sealed secret to its row: moving the ciphertext to another row or
    /// column makes it undecryptable.
    public static func secretContext(tenant: TenantID, account: AccountID, field: String) -> String {
        "mail_account/\(tenant)/\(account)/\(field)"
    }
}

/// One monitored folder with its cursor.
public struct MailFolderRecord: Sendable, Equatable {
    public var tenantID: TenantID
    public var id: FolderID
    public var accountID: AccountID
    public var name: String
    public var target: String
    public var uidValidity: UIDValidity?
    public var lastUID: UID
    public var uidNext: UID?
    public var lastPollAt: Date?
}
