extension DeliveryReport {
    /// The delivery report `input` is, or nil for any other mail.
    ///
    /// Cheap for ordinary mail: unless the top-level headers, the From address or a status part suggest a
    /// report (a `multipart/report` type or a `message/delivery-status` leaf, `X-Failed-Recipients`, a null `Return-Path`, `Auto-Submitted`, a
    /// mailer-daemon or postmaster sender), nothing else is read. Then, in order: the
    /// `message/delivery-status` part (RFC 3464), else a known plain-text form, else the addresses of
    /// `X-Failed-Recipients`. A report that names no recipient is not recognised. Text forms are trusted
    /// only from such senders, so a person forwarding or quoting a bounce is never taken for one.
    public static func recognize(_ input: DeliveryReportInput) -> DeliveryReport? {
        var signals = ReportSignals(input)
        // GMime keeps a message's Content-* fields off its header list, so imported mail shows its
        // `multipart/report` type only through its parts: a status leaf (a forwarded report stays whole
        // inside its `message/rfc822` part and shows none).
        if !signals.isReport, input.parts.contains(where: { Self.statusTypes.contains($0.contentType) }) { signals.isReport = true }
        guard signals.isReport || signals.isAutomaticSender else { return nil }
        var ids = OriginalMessageIDs(own: input.header("message-id"))
        for part in input.parts where Self.returnedMessageTypes.contains(part.contentType) {
            ids.addFromHeaderBlock(part.data)
        }
        for value in input.headers(named: "in-reply-to") { ids.add(OriginalMessageIDs.bare(value)) }
        for value in input.headers(named: "references") {
            for id in value.split(separator: " ").reversed() { ids.add(OriginalMessageIDs.bare(String(id))) }
        }
        if let text = input.text { ids.addFromText(text) }

        if let status = input.parts.first(where: { Self.statusTypes.contains($0.contentType) }) {
            let recipients = DSNFields(status.data).recipients
            if !recipients.isEmpty {
                return DeliveryReport(recipients: recipients, originalMessageIDs: ids.ids, format: "rfc3464")
            }
        }
        guard signals.isAutomaticSender else { return nil }
        let text = input.text ?? ""
        if let bounce = PlainTextBounce(text: text, subject: input.subject, input: input) {
            let recipients = bounce.recipients(excluding: signals.ourAddresses, listed: signals.failedRecipients)
            if !recipients.isEmpty {
                return DeliveryReport(recipients: recipients, originalMessageIDs: ids.ids, format: bounce.format)
            }
        }
        guard !signals.failedRecipients.isEmpty else { return nil }
        let paragraphs = PlainTextBounce.paragraphs(text)
        let diagnostic = PlainTextBounce.diagnostic(paragraphs: paragraphs, near: nil)
        let recipients = signals.failedRecipients.map {
            Recipient(address: $0, action: .failed, status: diagnostic.flatMap(EnhancedStatus.first(in:)), diagnostic: diagnostic, classify: true)
        }
        return DeliveryReport(recipients: recipients, originalMessageIDs: ids.ids, format: "x-failed-recipients")
    }

    /// Parts that return the original message or its header (RFC 3462 §2, RFC 6533 for the `global` forms).
    static let returnedMessageTypes: Set<String> = ["message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"]
    /// The machine-readable report (RFC 3464 §2, RFC 6533 §6).
    static let statusTypes: Set<String> = ["message/delivery-status", "message/global-delivery-status"]
}

/// What the top-level headers and From say, read in one pass over the headers.
struct ReportSignals {
    /// A `multipart/report; report-type=delivery-status` type.
    var isReport = false
    /// A null reverse path, `Auto-Submitted`, `X-Failed-Recipients` or a mailer-daemon / postmaster From.
    var isAutomaticSender = false
    /// `X-Failed-Recipients` addresses, lower-cased.
    var failedRecipients: [String] = []
    /// The report's own To and Cc values: they name the sender of the failed message.
    private var recipientFields: [String] = []

    /// The addresses of the report's To and Cc: never a failed recipient. Computed when asked, since
    /// ordinary mail never needs them.
    var ourAddresses: Set<String> { Set(recipientFields.flatMap(PlainTextBounce.addresses(in:))) }

    init(_ input: DeliveryReportInput) {
        for (name, value) in input.headers {
            switch name.utf8.count {
            case 2 where HeaderName.equal(name, "to"), 2 where HeaderName.equal(name, "cc"):
                recipientFields.append(value)
            case 11 where HeaderName.equal(name, "return-path"):
                if value.trimmingSpaces() == "<>" { isAutomaticSender = true }
            case 12 where HeaderName.equal(name, "content-type"):
                let lower = value.lowercased()
                if lower.hasPrefix("multipart/report"), !lower.contains("disposition-notification") { isReport = true }
            case 14 where HeaderName.equal(name, "auto-submitted"):
                if !value.trimmingSpaces().lowercased().hasPrefix("no") { isAutomaticSender = true }
            case 19 where HeaderName.equal(name, "x-failed-recipients"):
                failedRecipients += PlainTextBounce.addresses(in: value).filter { !failedRecipients.contains($0) }
                isAutomaticSender = true
            default:
                continue
            }
        }
        if let local = input.from?.split(separator: "@").first?.lowercased(), AutomaticMail.daemonLocalParts.contains(local) {
            isAutomaticSender = true
        }
    }
}
