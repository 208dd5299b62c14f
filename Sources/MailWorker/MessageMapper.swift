import Foundation
import MailCore
import MailCrypto
import MailDomain
import MailMIME
import MailStore

/// Translates what the MIME layer parsed into what the store keeps.
enum MessageMapper {
    static func newEmail(from m: ParsedMessage, raw: [UInt8], realSize: Int, internalDate: Date?,
                         headerOnlyNote: String?) -> NewEmail {
        let identity = MessageIdentity.resolve(
            header: m.messageID,
            digest: { m.contentDigest(raw: raw) },
            longIDDigest: { id in Hex.encode(SHA256.hash(id)) })
        var recipients: [NewEmail.Recipient] = []
        func add(_ kind: NewEmail.Recipient.Kind, _ list: [MailAddress]) {
            for a in list {
                let address = clean(a.address).lowercased()
                guard !address.isEmpty else { continue }
                recipients.append(.init(kind: kind, address: address, name: a.name.map(clean).flatMap { $0.isEmpty ? nil : $0 }))
            }
        }
        add(.from, m.from); add(.sender, m.sender); add(.to, m.to); add(.cc, m.cc); add(.bcc, m.bcc); add(.replyTo, m.replyTo)
        var notes = m.problems
        if let headerOnlyNote { notes.insert(headerOnlyNote, at: 0) }
        return NewEmail(
            messageID: identity.id, messageIDIsSynthetic: identity.synthetic,
            subject: m.subject.map(clean), dateSent: m.date, dateReceived: internalDate,
            bodyText: m.textBody.map(cleanBody), bodyHTML: m.htmlBody.map(cleanBody),
            headers: m.headers.map { (clean($0.name), clean($0.value)) },
            inReplyTo: m.inReplyTo.first.map(clean), references: m.references.map(clean),
            size: realSize, isHeaderOnly: headerOnlyNote != nil,
            importNote: notes.isEmpty ? nil : notes.joined(separator: "; "),
            recipients: recipients,
            attachments: m.attachments.map {
                .init(filename: $0.filename.map(clean), contentType: clean($0.contentType), contentID: $0.contentID.map(clean),
                      isInline: $0.isInline, data: $0.data)
            })
    }

    /// Bodies are stored with LF line ends, whatever the wire used (IMAP hands out CRLF).
    static func cleanBody(_ s: String) -> String {
        clean(s).replacingOccurrences(of: "\r\n", with: "\n")
    }

    /// Postgres text cannot hold NUL; nothing else needs escaping once values are bound.
    static func clean(_ s: String) -> String {
        s.contains("\0") ? s.replacingOccurrences(of: "\0", with: "") : s
    }
}
