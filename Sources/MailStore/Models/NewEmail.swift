import Foundation
import MailCore

/// An email ready to store: what the MIME layer parsed, in the store's terms. The store does not
/// depend on the MIME layer; the worker translates.
public struct NewEmail: Sendable {
    public struct Recipient: Sendable, Equatable {
        public enum Kind: String, Sendable { case from, sender, to, cc, bcc, replyTo = "reply_to" }
        public var kind: Kind
        public var address: String
        public var name: String?
        public init(kind: Kind, address: String, name: String?) {
            self.kind = kind
            self.address = address
            self.name = name
        }
    }

    public struct Attachment: Sendable, Equatable {
        public var filename: String?
        public var contentType: String
        public var contentID: String?
        public var isInline: Bool
        public var data: [UInt8]
        public init(filename: String?, contentType: String, contentID: String?, isInline: Bool, data: [UInt8]) {
            self.filename = filename
            self.contentType = contentType
            self.contentID = contentID
            self.isInline = isInline
            self.data = data
        }
    }

    public var messageID: String
    public var messageIDIsSynthetic: Bool
    public var subject: String?
    public var dateSent: Date?
    public var dateReceived: Date?
    public var bodyText: String?
    /// The HTML body as received: not safe to render.
    public var bodyHTML: String?
    /// `bodyHTML` sanitised for rendering (the worker fills it; the store never sanitises).
    public var bodyHTMLSafe: String?
    /// Top-level headers in order.
    public var headers: [(name: String, value: String)]
    public var inReplyTo: String?
    public var references: [String]
    public var size: Int
    public var isHeaderOnly: Bool
    public var importNote: String?
    public var recipients: [Recipient]
    public var attachments: [Attachment]

    public init(messageID: String, messageIDIsSynthetic: Bool = false, subject: String? = nil, dateSent: Date? = nil,
                dateReceived: Date? = nil, bodyText: String? = nil, bodyHTML: String? = nil, bodyHTMLSafe: String? = nil,
                headers: [(name: String, value: String)] = [], inReplyTo: String? = nil, references: [String] = [],
                size: Int = 0, isHeaderOnly: Bool = false, importNote: String? = nil,
                recipients: [Recipient] = [], attachments: [Attachment] = []) {
        self.messageID = messageID
        self.messageIDIsSynthetic = messageIDIsSynthetic
        self.subject = subject
        self.dateSent = dateSent
        self.dateReceived = dateReceived
        self.bodyText = bodyText
        self.bodyHTML = bodyHTML
        self.bodyHTMLSafe = bodyHTMLSafe
        self.headers = headers
        self.inReplyTo = inReplyTo
        self.references = references
        self.size = size
        self.isHeaderOnly = isHeaderOnly
        self.importNote = importNote
        self.recipients = recipients
        self.attachments = attachments
    }

    public var from: Recipient? { recipients.first { $0.kind == .from } }
}

/// Where an imported email was found.
public struct EmailPlacement: Sendable, Equatable {
    public var accountID: AccountID
    public var folderID: FolderID
    public var uidValidity: UIDValidity
    public var uid: UID
    /// `inbox`, `sent` or a user folder name.
    public var target: String
    public init(accountID: AccountID, folderID: FolderID, uidValidity: UIDValidity, uid: UID, target: String) {
        self.accountID = accountID
        self.folderID = folderID
        self.uidValidity = uidValidity
        self.uid = uid
        self.target = target
    }
}
