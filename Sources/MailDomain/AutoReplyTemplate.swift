/// Renders auto-reply subjects and bodies. Placeholders: `{{subject}}`, `{{case.number}}`,
/// `{{case.name}}`, `{{from.name}}`, `{{from.address}}` (spaces inside the braces allowed). A
/// placeholder without a value renders empty; unknown placeholders stay as written, so a typo is
/// visible rather than silently dropped. Values are inserted verbatim (no template recursion).
public struct AutoReplyTemplate: Sendable {
    public struct Values: Sendable {
        public var subject: String?
        public var caseNumber: Int64?
        public var caseName: String?
        public var fromName: String?
        public var fromAddress: String?

        public init(subject: String?, caseNumber: Int64? = nil, caseName: String? = nil, fromName: String?, fromAddress: String?) {
            self.subject = subject
            self.caseNumber = caseNumber
            self.caseName = caseName
            self.fromName = fromName
            self.fromAddress = fromAddress
        }

        func value(of name: String) -> String?? {
            switch name {
            case "subject": return .some(subject)
            case "case.number": return .some(caseNumber.map(String.init))
            case "case.name": return .some(caseName)
            case "from.name": return .some(fromName)
            case "from.address": return .some(fromAddress)
            default: return nil
            }
        }
    }

    public var text: String
    public init(_ text: String) { self.text = text }

    public func render(_ values: Values) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if let value = values.value(of: name) {
                out += value ?? ""
            } else {
                out += rest[open.lowerBound..<close.upperBound]
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    /// A rendered subject as one header-safe line: line breaks become spaces.
    public func renderLine(_ values: Values) -> String {
        String(render(values).map { $0.isNewline ? " " : $0 })
    }
}
