import Foundation

/// The parts of a message filters look at, folded once for case-insensitive matching.
///
/// Built from the header block alone (`body` nil) for the decision before download, or from the
/// parsed message for body filters.
public struct FilterMessage: Sendable {
    let from: [String]
    let toOrCc: [String]
    let subject: String
    let headers: [(name: String, value: String)]
    /// Plain text plus the text of the HTML part, folded; nil when only the header block is known.
    let body: String?

    /// - Parameters:
    ///   - from: From addresses.
    ///   - toOrCc: To and Cc addresses.
    ///   - headers: top-level headers in order (values decoded).
    ///   - bodyText: the text/plain body, when known.
    ///   - bodyHTML: the text/html body, when known; its text is extracted with `HTMLText`.
    ///   - hasBody: false when only the header block was fetched (body filters cannot decide yet).
    public init(from: [String], toOrCc: [String], subject: String?, headers: [(name: String, value: String)],
                bodyText: String?, bodyHTML: String?, hasBody: Bool) {
        self.from = from.map(TextFold.fold)
        self.toOrCc = toOrCc.map(TextFold.fold)
        self.subject = TextFold.fold(subject ?? "")
        self.headers = headers.map { (TextFold.fold($0.name), TextFold.fold($0.value.trimmingCharacters(in: .whitespacesAndNewlines))) }
        if hasBody {
            let html = bodyHTML.map(HTMLText.extract) ?? ""
            self.body = TextFold.fold((bodyText ?? "") + "\n" + html)
        } else {
            self.body = nil
        }
    }

    /// Values of the headers named `name` (already folded).
    func headerValues(_ foldedName: String) -> [String] {
        headers.filter { $0.name == foldedName }.map(\.value)
    }
}
