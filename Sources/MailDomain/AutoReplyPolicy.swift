import Foundation

/// Decides whether an inbound email may get an auto-reply (RFC 3834 §2 and what real mail systems
/// need on top). Pure: the importer gathers the facts, this answers.
///
/// Never answered: whatever `AutomaticMail` recognises as sent by a machine (`Auto-Submitted` other
/// than `no`, `X-Autoreply`, delivery reports, daemon and null senders); `X-Auto-Response-Suppress` naming AutoReply or
/// All; `Precedence` bulk, list or junk; `List-Id` or `List-Unsubscribe`; an `X-Loop` naming one of
/// our addresses; delivery reports and bounces (`multipart/report`, a null or mailer-daemon
/// sender); senders matching the tenant's no-reply pattern; and any address of an account Mailroom
/// monitors for the tenant (two monitored mailboxes answering each other is the classic storm).
/// The per-sender rate limit is applied afterwards, atomically in SQL.
public enum AutoReplyPolicy {
    public enum Refusal: String, Sendable, Equatable {
        case noSender, suppressed, bulkPrecedence, mailingList, loop, noReplyAddress, monitoredAddress
        /// Mail sent by a machine, as `AutomaticMail` recognises it (the same rule case creation uses).
        case autoSubmitted, autoReplyHeader, exchangeGenerated, automaticSubject, deliveryReport, daemonSender, nullSender
    }

    /// The facts about one inbound email.
    public struct Inbound: Sendable {
        /// Header fields in order, names as written.
        public var headers: [(name: String, value: String)]
        /// The address to reply to (Reply-To, else From), lower-cased; nil when none.
        public var sender: String?

        public init(headers: [(name: String, value: String)], sender: String?) {
            self.headers = headers
            self.sender = sender?.lowercased()
        }

        func values(_ name: String) -> [String] {
            headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        }
    }

    /// The reason no auto-reply may be sent, or nil when one may.
    /// - Parameters:
    ///   - ourAddresses: every address of every account the tenant's Mailroom monitors, lower-cased.
    ///   - noReplyPattern: the tenant's POSIX regular expression (case-insensitive) of senders that
    ///     never get auto-replies; an invalid pattern refuses nothing by itself.
    public static func refusal(_ mail: Inbound, ourAddresses: Set<String>, noReplyPattern: String) -> Refusal? {
        guard let sender = mail.sender, !sender.isEmpty, sender.contains("@") else { return .noSender }
        switch AutomaticMail.reason(headers: mail.headers, from: sender) {
        case .autoSubmitted: return .autoSubmitted
        case .autoReplyHeader: return .autoReplyHeader
        case .exchangeGenerated: return .exchangeGenerated
        case .precedence: return .bulkPrecedence
        case .automaticSubject: return .automaticSubject
        case .deliveryReport: return .deliveryReport
        case .daemonSender: return .daemonSender
        case .nullSender: return .nullSender
        case nil: break
        }
        for value in mail.values("X-Auto-Response-Suppress") {
            let words = value.split(whereSeparator: { $0 == "," || $0 == " " }).map { $0.lowercased() }
            if words.contains("all") || words.contains("autoreply") { return .suppressed }
        }
        if mail.values("Precedence").contains(where: { ["bulk", "list", "junk"].contains(token($0)) }) { return .bulkPrecedence }
        if !mail.values("List-Id").isEmpty || !mail.values("List-Unsubscribe").isEmpty { return .mailingList }
        for value in mail.values("X-Loop") where ourAddresses.contains(where: { value.lowercased().contains($0) }) {
            return .loop
        }
        if matches(sender, pattern: noReplyPattern) { return .noReplyAddress }
        if ourAddresses.contains(sender) { return .monitoredAddress }
        return nil
    }

    /// The first word of a header value, lower-cased (`auto-replied; owner-email=...` → `auto-replied`).
    static func token(_ value: String) -> String {
        String(value.split(whereSeparator: { $0 == ";" || $0 == " " || $0 == "\t" }).first ?? "").lowercased()
    }

    static func matches(_ text: String, pattern: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
