import Foundation
import MailCore
import MailCrypto
import MailDomain
import MailStore

/// Queues auto-replies to new inbound mail, inside the import transaction that stored it, so an
/// email is answered exactly when it is stored (a re-run after a crash finds it not new and does
/// nothing).
///
/// Order: the account's auto-replies must be on; `AutoReplyPolicy` refuses loops, lists, bounces,
/// no-reply senders and our own addresses; without a case, only the first email of a thread is
/// answered (its In-Reply-To / References name no email we hold); an address marked undeliverable
/// is not answered; last, the per-sender sliding
/// window is taken atomically in SQL. The reply carries Auto-Submitted, X-Auto-Response-Suppress
/// and X-Loop (see `SendJobHandler.message`), In-Reply-To and References.
public enum AutoReplier {
    /// For each new email of an import batch (accounts without case creation: the case path calls
    /// `enqueueIfAllowed` with its case). One settings query per batch; nothing more when disabled.
    public static func afterImport(_ conn: PostgresConnection, tenant: TenantID, account: MailAccountRecord,
                                   stored: [(emailID: EmailID, email: NewEmail, isNew: Bool)]) throws {
        guard account.kind == .group, stored.contains(where: \.isNew),
              let settings = try AutoReplyQueries.autoReplySettings(conn, tenant: tenant, account: account.id),
              settings.enabled, !settings.caseCreate else { return }
        for s in stored where s.isNew {
            try enqueueIfAllowed(conn, tenant: tenant, account: account, emailID: s.emailID, email: s.email, caseRef: nil,
                                 settings: settings)
        }
    }

    /// Queues an auto-reply to `email` (stored as `emailID`) when every rule allows it; returns the
    /// reply's id. `caseRef` is the case the email created, when it created one; `caseID` (its id)
    /// makes the reply an email of the case, whose Message-ID carries the case's signed token.
    @discardableResult
    public static func enqueueIfAllowed(_ conn: PostgresConnection, tenant: TenantID, account: MailAccountRecord,
                                        emailID: EmailID, email: NewEmail, caseRef: (number: Int64, name: String)?,
                                        signer: RecordTokenSigner? = nil, caseID: Int64? = nil,
                                        settings known: AutoReplyQueries.Settings? = nil) throws -> EmailID? {
        guard account.kind == .group,
              let settings = try known ?? AutoReplyQueries.autoReplySettings(conn, tenant: tenant, account: account.id),
              settings.enabled else { return nil }
        let replyTo = email.recipients.first { $0.kind == .replyTo } ?? email.from
        guard let to = replyTo else { return nil }
        let inbound = AutoReplyPolicy.Inbound(headers: email.headers, sender: to.address)
        if AutoReplyPolicy.refusal(inbound, ourAddresses: settings.monitoredAddresses, noReplyPattern: settings.noReplyPattern) != nil {
            return nil
        }
        if caseRef == nil {
            let thread = (email.inReplyTo.map { [$0] } ?? []) + email.references
            if try AutoReplyQueries.emailThreadIsKnown(conn, tenant: tenant, messageIDs: thread, excluding: emailID) { return nil }
        }
        // An address marked undeliverable (it bounced: docs/bounces.md) is not answered; the queue would
        // refuse it, and a refusal must not fail the import.
        if try AddressHealthQueries.addressHealthIsUndeliverable(conn, tenant: tenant, address: to.address) { return nil }
        guard try AutoReplyQueries.autoReplyTake(conn, tenant: tenant, account: account.id, sender: to.address) else { return nil }

        let values = AutoReplyTemplate.Values(subject: email.subject, caseNumber: caseRef?.number, caseName: caseRef?.name,
                                              fromName: email.from?.name, fromAddress: email.from?.address)
        let subject = AutoReplyTemplate(settings.subject ?? "Re: {{subject}}").renderLine(values)
        let body = AutoReplyTemplate(settings.body ?? "We received your message and will answer soon.").render(values)
        let domain = settings.fromAddress.split(separator: "@").last.map(String.init) ?? "mailroom.invalid"
        // A reply to the auto-reply of a new case threads back to the case through the signed token.
        let messageID = caseID.flatMap { id in signer?.messageID(type: .supportCase, id: id, domain: domain) }
            ?? "\(UUID().uuidString.lowercased())@\(domain)"
        return try AutoReplyQueries.autoReplyQueue(conn, tenant: tenant, .init(
            account: account.id, answering: emailID, messageID: messageID,
            to: (to.address, to.name), subject: subject, body: body,
            parent: caseID.map { (RecordType.supportCase.rawValue, $0) }))
    }
}
