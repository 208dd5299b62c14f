import Foundation

/// An email to compose: plain values, no GMime. `MessageComposer` turns it into RFC 5322 bytes.
///
/// Bcc recipients are not part of the message (they travel only in the SMTP envelope), so there is
/// no field for them here.
public struct OutgoingMessage: Sendable {
    public struct Attachment: Sendable, Equatable {
        public var filename: String?
        /// `type/subtype`, e.g. `application/pdf`.
        public var contentType: String
        public var data: [UInt8]
        public init(filename: String?, contentType: String, data: [UInt8]) {
            self.filename = filename
            self.contentType = contentType
            self.data = data
        }
    }

    public var from: MailAddress
    public var to: [MailAddress] = []
    public var cc: [MailAddress] = []
    public var replyTo: [MailAddress] = []
    public var subject: String?
    public var date: Date
    /// Without angle brackets; chosen by the caller (it is the row's dedupe key).
    public var messageID: String
    /// Message-ID (without brackets) of the email this one answers.
    public var inReplyTo: String?
    /// The thread's Message-IDs, oldest first, without brackets.
    public var references: [String] = []
    public var textBody: String?
    public var htmlBody: String?
    public var attachments: [Attachment] = []
    /// `Auto-Submitted` (RFC 3834), e.g. `auto-replied`; nil for mail a person sent.
    public var autoSubmitted: String?
    /// Adds `X-Auto-Response-Suppress: All`, asking Exchange and friends not to auto-answer.
    public var suppressAutoResponses = false
    /// Further header fields in order, e.g. `X-Loop`. Values must not contain line breaks.
    public var extraHeaders: [HeaderField] = []

    public init(from: MailAddress, subject: String?, date: Date, messageID: String) {
        self.from = from
        self.subject = subject
        self.date = date
        self.messageID = messageID
    }
}
