import Foundation
import MailCore
import MailCrypto
import MailDomain
import MailHTML
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

    /// Fills `bodyHTMLSafe` from `bodyHTML` (`HTMLSanitizer`). When the sanitiser falls back to
    /// plain text, the import note says why (sizes only, never content).
    static func sanitizeHTML(_ email: inout NewEmail, remoteImages: RemoteImagePolicy) {
        guard let html = email.bodyHTML else { return }
        let safe = HTMLSanitizer(remoteImages: remoteImages).sanitize(html: html, textBody: email.bodyText)
        email.bodyHTMLSafe = clean(safe.html)
        if let fallback = safe.fallback {
            email.importNote = [email.importNote, fallback.description].compactMap { $0 }.joined(separator: "; ")
        }
    }

    /// Bodies are stored with LF line ends, whatever the wire used (IMAP hands out CRLF).
    /// Works on UTF-8 bytes: Foundation's `replacingOccurrences` showed up in profiles of the import.
    static func cleanBody(_ s: String) -> String {
        let utf8 = s.utf8
        guard utf8.contains(13) || utf8.contains(0) else { return s }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count)
        var previousCR = false
        for b in utf8 {
            if previousCR && b != 10 { out.append(13) }
            previousCR = b == 13
            if b != 13 && b != 0 { out.append(b) }
        }
        if previousCR { out.append(13) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Postgres text cannot hold NUL; nothing else needs escaping once values are bound.
    /// A header-bound value as one line (`HeaderLine.unfold`): the database refuses line breaks there.
    static func clean(_ s: String) -> String { HeaderLine.unfold(s) }
}
