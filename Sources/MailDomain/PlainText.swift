import Foundation

/// Plain text from simple HTML, for case descriptions of mail without a plain part.
public enum PlainText {
    /// Drops `<script>`/`<style>` content and tags, turns block ends and `<br>` into line breaks,
    /// decodes the common entities and collapses runs of blank lines. Not a renderer: enough to read.
    public static func fromHTML(_ html: String) -> String {
        var text = html
        for pattern in ["(?is)<(script|style|head)[^>]*>.*?</\\1>", "(?s)<!--.*?-->"] {
            text = text.replacingOccurrences(of: pattern, with: "", options: .regularExpression)
        }
        text = text.replacingOccurrences(of: "(?i)<br\\s*/?>|</(p|div|li|tr|h[1-6])>", with: "\n", options: .regularExpression)
        text = text.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
        let entities = ["&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'", "&apos;": "'", "&amp;": "&"]
        for (entity, char) in entities { text = text.replacingOccurrences(of: entity, with: char) }
        let lines = text.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [String] = []
        for line in lines where !(line.isEmpty && (out.last?.isEmpty ?? true)) { out.append(line) }
        return out.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
