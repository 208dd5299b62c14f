import Foundation
import MailMIME
import MailStore

extension OutgoingEmail {
    /// The MIME message the worker submits for this queued email, dated `date`. Auto-replies say so
    /// (RFC 3834 Auto-Submitted, X-Auto-Response-Suppress) and name our account in X-Loop. Public so
    /// that benchmarks submit exactly what the worker would.
    public func message(date: Date) -> OutgoingMessage {
        var m = OutgoingMessage(from: MailAddress(name: from.name, address: from.address), subject: subject, date: date,
                                messageID: messageID)
        m.to = to.map { MailAddress(name: $0.name, address: $0.address) }
        m.cc = cc.map { MailAddress(name: $0.name, address: $0.address) }
        m.replyTo = replyTo.map { MailAddress(name: $0.name, address: $0.address) }
        m.inReplyTo = inReplyTo
        m.references = references
        m.textBody = bodyText
        m.htmlBody = bodyHTML
        m.attachments = attachments.map { .init(filename: $0.filename, contentType: $0.contentType, data: $0.data) }
        if isAutoReply {
            m.autoSubmitted = "auto-replied"
            m.suppressAutoResponses = true
            m.extraHeaders = [HeaderField(name: "X-Loop", value: account.address)]
        }
        return m
    }

    /// Every envelope recipient: To, Cc and Bcc alike.
    public var envelopeRecipients: [String] { (to + cc + bcc).map(\.address) }
}
