import Foundation

/// Recognises mail sent by machines (auto-replies, bounces, delivery reports), which must never open a
/// support case nor trigger an automatic answer (RFC 3834 §2, RFC 3464). The one definition: case
/// creation asks it, and `AutoReplyPolicy` refuses whatever it recognises before its own rules.
public enum AutomaticMail {
    /// Why a message counts as automatic, or nil for mail written by a person.
    public enum Reason: String, Sendable, Equatable {
        /// `Auto-Submitted` with any value other than `no` (RFC 3834 §5).
        case autoSubmitted
        /// `X-Autoreply` / `X-Autorespond` (common auto-responders that predate RFC 3834).
        case autoReplyHeader
        /// A `multipart/report` top-level type: delivery status (RFC 3464) or disposition notifications.
        case deliveryReport
        /// A mailer-daemon style sender (`mailer-daemon@`, `postmaster@`).
        case daemonSender
        /// The null reverse path (`Return-Path: <>`), which only delivery reports use (RFC 5321 §4.5.5).
        case nullSender
    }

    /// Decides from the top-level headers (any case, in order) and the From address.
    public static func reason(headers: [(name: String, value: String)], from: String?) -> Reason? {
        for (name, rawValue) in headers {
            let key = name.lowercased()
            // Most headers are none of these: only theirs are trimmed (Foundation's trimming is
            // costly, and this runs for every header of every imported email).
            guard Self.watched.contains(key) else { continue }
            let value = rawValue.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            switch key {
            case "auto-submitted":
                // The value may carry parameters: `auto-replied; owner-email="..."`.
                let keyword = value.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                if keyword != "no" { return .autoSubmitted }
            case "x-autoreply", "x-autorespond":
                if !value.isEmpty, value != "no", value != "false" { return .autoReplyHeader }
            case "content-type":
                if value.hasPrefix("multipart/report") { return .deliveryReport }
            case "return-path":
                if value == "<>" { return .nullSender }
            default:
                continue
            }
        }
        if let local = from?.lowercased().split(separator: "@").first,
           local == "mailer-daemon" || local == "postmaster" {
            return .daemonSender
        }
        return nil
    }

    /// The header names `reason` looks at, lower-cased.
    static let watched: Set<String> = ["auto-submitted", "x-autoreply", "x-autorespond", "content-type", "return-path"]

    public static func isAutomatic(headers: [(name: String, value: String)], from: String?) -> Bool {
        reason(headers: headers, from: from) != nil
    }
}
