extension DeliveryReport.Severity {
    /// Classifies one recipient's outcome; nil unless `action` is failed or delayed.
    ///
    /// Delayed is always soft. For a failure, in order: a 4.x.x status, or a diagnostic saying the mailbox
    /// is full / over quota, greylisted or "try again later" (or status x.2.2, mailbox full, which servers
    /// send as 5.2.2 though it passes) → soft; a 5.x.x status → hard; a diagnostic saying unknown user,
    /// no such domain or mailbox unavailable → hard; a basic SMTP code 4xx → soft, 5xx → hard; otherwise
    /// hard, since a failed action means the reporting system gave up.
    public static func classify(action: DeliveryReport.Action, status: String?, diagnostic: String?) -> Self? {
        switch action {
        case .delayed: return .soft
        case .failed: break
        case .delivered, .relayed, .expanded: return nil
        }
        let text = diagnostic?.lowercased() ?? ""
        if status?.hasPrefix("4") == true { return .soft }
        if softPhrases.contains(where: text.contains) || status.map({ $0.dropFirst().hasPrefix(".2.2") }) == true { return .soft }
        if status?.hasPrefix("5") == true { return .hard }
        if hardPhrases.contains(where: text.contains) { return .hard }
        switch EnhancedStatus.basicCode(in: text) {
        case let code? where code < 500: return .soft
        default: return .hard
        }
    }

    /// Temporary conditions, lower-cased.
    static let softPhrases = [
        "mailbox full", "mailbox is full", "over quota", "quota exceeded", "exceeded storage", "exceeds quota",
        "insufficient storage", "greylist", "graylist", "try again later", "please retry", "temporarily",
        "temporary failure", "too many connections",
    ]

    /// Permanent conditions, lower-cased.
    static let hardPhrases = [
        "user unknown", "unknown user", "no such user", "does not exist", "doesn't exist", "not found",
        "no such domain", "host not found", "domain not found", "mailbox unavailable", "mailbox not available",
        "no mailbox", "recipient rejected", "address rejected", "invalid recipient", "couldn't be found",
        "unable to receive mail", "unrouteable", "disabled", "inactive",
    ]
}

extension DeliveryReport.Recipient {
    /// A recipient whose severity follows `Severity.classify`; the diagnostic is put on one line and bounded.
    init(address: String, action: DeliveryReport.Action, status: String?, diagnostic: String?, classify: Bool) {
        let line = diagnostic.map(Self.oneLine).flatMap { $0.isEmpty ? nil : $0 }
        self.init(address: address, action: action, status: status, diagnostic: line,
                  severity: DeliveryReport.Severity.classify(action: action, status: status, diagnostic: line))
    }

    /// Whitespace runs as one space, trimmed, at most `maxDiagnosticLength` characters.
    static func oneLine(_ text: String) -> String {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })
        return String(words.joined(separator: " ").prefix(DeliveryReport.maxDiagnosticLength))
    }
}
