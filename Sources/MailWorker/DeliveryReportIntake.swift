import Logging
import MailCore
import MailDomain
import MailStore

/// Delivery reports among newly imported mail (docs/bounces.md), in the import transaction that stored
/// them, before routing: each email is offered to `DeliveryReport.recognize` once; a report is recorded
/// (`EmailBounceQueries.emailBounceRecordMany`, one call per batch: tied to the email we sent, the email Bounced, the address
/// marked, the report linked to the email's record) and kept out of routing and auto-replies, so it
/// never creates, joins or reopens a case, notifies nobody and is never answered, whatever it reports
/// on (a report about a report or about one of our auto-replies included). An untied report is stored
/// all the same. Every other email's sender wrote to us: its undeliverable mark is cleared.
///
/// A re-import finds the emails already stored (not new) and so records nothing twice; recording is
/// idempotent besides.
struct DeliveryReportIntake {
    let logger: Logger

    /// Records the reports among `emails` (new in this batch); returns their ids, for the caller to
    /// keep them from routing and auto-replies.
    func take(_ conn: PostgresConnection, tenant: TenantID, emails: [(id: EmailID, email: NewEmail)]) throws -> Set<EmailID> {
        var reports: [EmailBounceQueries.Report] = []
        var senders: [(address: String, email: EmailID)] = []
        senders.reserveCapacity(emails.count)
        for (id, email) in emails {
            guard let report = DeliveryReport.recognize(DeliveryReportInput(email)) else {
                if let from = email.from?.address { senders.append((from, id)) }
                continue
            }
            reports.append(.init(report: id, messageIDs: report.originalMessageIDs, recipients: report.recipients.map {
                .init(address: $0.address, action: $0.action.rawValue, severity: $0.severity?.rawValue, status: $0.status,
                      diagnostic: $0.diagnostic)
            }))
            logger.debug("delivery report", metadata: ["email_id": "\(id)", "format": "\(report.format)",
                                                       "recipients": "\(report.recipients.count)"])
        }
        // One call for the batch's reports: per-statement costs are paid once.
        let ties = try EmailBounceQueries.emailBounceRecordMany(conn, tenant: tenant, reports)
        if !ties.isEmpty {
            logger.debug("delivery reports recorded", metadata: ["reports": "\(ties.count)", "tied": "\(ties.compactMap { $0 }.count)"])
        }
        try AddressHealthQueries.addressHealthWrote(conn, tenant: tenant, senders: senders)
        return Set(reports.map(\.report))
    }
}
