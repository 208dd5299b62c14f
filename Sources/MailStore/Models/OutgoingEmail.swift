import Foundation
import MailCore
import MailDomain

/// What a caller asks to send (the arguments of `mailroom_queue_email`).
public struct EmailDraft: Sendable {
    public struct Attachment: Sendable, Equatable {
        public var filename: String?
        public var contentType: String
        public var data: [UInt8]
        public init(filename: String?, contentType: String, data: [UInt8]) {
            self.filename = filename
            self.contentType = contentType
            self.data = data
        }
    }

    /// The account to send through; nil on a case reply means the case's source account.
    public var account: AccountID?
    /// The sending user: the permission check is theirs.
    public var user: UserID
    public var to: [String]
    public var cc: [String]
    public var bcc: [String]
    public var subject: String?
    public var text: String?
    public var html: String?
    public var attachments: [Attachment]
    /// `case`, `contact`, `account`, `lead` or `opportunity`, with its id.
    public var parent: (type: String, id: Int64)?
    public var replyToEmail: EmailID?
    /// Without brackets; nil for a random one in the account's domain.
    public var messageID: String?
    /// Send even to recipients marked undeliverable (docs/bounces.md); otherwise such a recipient
    /// refuses the draft.
    public var sendAnyway: Bool

    public init(account: AccountID?, user: UserID, to: [String], cc: [String] = [], bcc: [String] = [], subject: String?,
                text: String?, html: String? = nil, attachments: [Attachment] = [], parent: (type: String, id: Int64)? = nil,
                replyToEmail: EmailID? = nil, messageID: String? = nil, sendAnyway: Bool = false) {
        self.sendAnyway = sendAnyway
        self.account = account
        self.user = user
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.subject = subject
        self.text = text
        self.html = html
        self.attachments = attachments
        self.parent = parent
        self.replyToEmail = replyToEmail
        self.messageID = messageID
    }
}

/// A queued email as the sender needs it: the row, its envelope and the account's SMTP settings.
/// The SMTP secret stays sealed; the worker opens it right before connecting.
public struct OutgoingEmail: Sendable {
    public struct Address: Sendable, Equatable {
        public var address: String
        public var name: String?
    }

    public var tenantID: TenantID
    public var id: EmailID
    public var status: String
    public var messageID: String
    public var subject: String?
    public var from: Address
    public var to: [Address]
    public var cc: [Address]
    public var bcc: [Address]
    public var replyTo: [Address]
    public var bodyText: String?
    public var bodyHTML: String?
    public var inReplyTo: String?
    public var references: [String]
    public var isAutoReply: Bool
    public var attachments: [EmailDraft.Attachment]
    public var account: SMTPAccount
    /// The record the email belongs to (a case it answers ...): its Message-ID carries this record's
    /// signed token once the worker has signed it.
    public var parent: RecordRef?
    /// Whether `body_html_safe` is still to be written (queued through SQL with an HTML body).
    public var needsSafeHTML: Bool = false
    /// The tenant's `remote_images` setting, for the sanitised copy.
    public var remoteImages: RemoteImagePolicy = .allow
}

/// An account's SMTP settings and the IMAP settings store-sent needs.
public struct SMTPAccount: Sendable, Equatable {
    public var id: AccountID
    public var kind: MailAccountRecord.Kind
    public var address: String
    public var host: String?
    public var port: Int?
    public var security: String
    public var verifyTLS: Bool
    public var username: String?
    public var auth: String
    public var secret: [UInt8]?
    public var storeSent: Bool
    public var sentFolder: String?
    /// The OAuth client of an account whose `auth` is `oauth2`.
    public var oauthClientID: Int64? = nil
    /// `smtp_max_connections`: most SMTP connections one worker opens to the account at once.
    public var maxConnections: Int = 3
}
