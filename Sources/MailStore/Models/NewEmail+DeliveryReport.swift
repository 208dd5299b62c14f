import MailDomain

extension DeliveryReportInput {
    /// What `DeliveryReport.recognize` and `AutomaticMail.reason(_:)` read from an email being imported:
    /// its headers, first From address, subject, text body and every non-body part.
    public init(_ email: NewEmail) {
        self.init(headers: email.headers,
                  from: email.recipients.first { $0.kind == .from }?.address,
                  subject: email.subject,
                  text: email.bodyText,
                  parts: email.attachments.map { ($0.contentType, $0.data) })
    }
}
