import Foundation

/// One authenticated submission Postfix logged: through which listener and with which SASL mechanism.
public struct PostfixSubmission: Sendable, Equatable, CustomStringConvertible {
    /// The listener's syslog name: `submission` (STARTTLS, `submissionPort`) or `smtps` (implicit TLS,
    /// `smtpsPort`).
    public let service: String
    /// The SASL mechanism the client used, as Postfix names it: `PLAIN`, `LOGIN`.
    public let mechanism: String

    public init(service: String, mechanism: String) {
        self.service = service
        self.mechanism = mechanism
    }

    public var description: String { "\(service) \(mechanism)" }
}

extension TestMailServer {
    /// The current end of Postfix's log: pass it to `postfixSubmissions(username:since:)` to read only
    /// what a test caused (the shared log grows to many megabytes).
    public func postfixLogMark() throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: postfixLog)
        return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// The authenticated submissions of `username` logged after `mark`, oldest first. Postfix logs one
    /// per accepted MAIL FROM (`…: client=…, sasl_method=LOGIN, sasl_username=user`), through its log
    /// daemon, so a line can land a moment after the client saw the reply: poll with a deadline.
    public func postfixSubmissions(username: String, since mark: UInt64) throws -> [PostfixSubmission] {
        guard let file = FileHandle(forReadingAtPath: postfixLog) else {
            throw FileError(operation: "open", path: postfixLog, code: ENOENT)
        }
        defer { try? file.close() }
        try file.seek(toOffset: mark)
        let text = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").compactMap { Self.submission(in: $0, username: username) }
    }

    /// Parses `… postfix/<service>/smtpd[pid]: ID: client=…, sasl_method=M, sasl_username=U`.
    static func submission(in line: Substring, username: String) -> PostfixSubmission? {
        guard line.hasSuffix(", sasl_username=\(username)"),
              let method = line.range(of: "sasl_method="),
              let service = line.range(of: "postfix/"), let smtpd = line.range(of: "/smtpd[")
        else { return nil }
        let mechanism = line[method.upperBound...].prefix { $0 != "," }
        guard service.upperBound <= smtpd.lowerBound else { return nil }
        return PostfixSubmission(service: String(line[service.upperBound..<smtpd.lowerBound]), mechanism: String(mechanism))
    }
}
