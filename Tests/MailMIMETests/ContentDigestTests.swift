import Foundation
import Testing
@testable import MailMIME

private let body = """
    Date: Tue, 2 Jan 2024 13:45:30 +0100
    From: Alice <alice@example.com>
    To: support@example.com
    Subject: =?UTF-8?Q?Printer_on_fire_=F0=9F=94=A5?=
    Content-Type: text/plain; charset=utf-8

    The printer is on fire.
    Please advise.
    """

private func digest(_ raw: [UInt8]) throws -> String {
    MIMEParser.contentDigest(try parsed(raw), raw: raw)
}

@Test func digestIgnoresTransportHeaders() throws {
    let first = wire("Received: from mx1.example.com by a.example.net; Tue, 2 Jan 2024 13:45:31 +0100\nDelivered-To: one@example.net\n" + body)
    let second = wire("Received: from mx9.example.org by b.example.org; Tue, 2 Jan 2024 13:47:00 +0100\nReturn-Path: <x@example.com>\nDelivered-To: two@example.org\n" + body)
    let hex = try digest(first)
    #expect(hex.count == 64 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    #expect(try digest(second) == hex)
    // The same message stored with LF line ends is the same content.
    #expect(try digest(Array(("Delivered-To: three@example.com\n" + body).utf8)) == hex)
    // Stable across calls and via the ParsedMessage convenience.
    #expect(try parsed(first).contentDigest(raw: first) == hex)
}

@Test func digestSeparatesDifferentMessages() throws {
    let original = try digest(wire(body))
    #expect(try digest(wire(body.replacingOccurrences(of: "Please advise.", with: "Please advise!"))) != original)
    #expect(try digest(wire(body.replacingOccurrences(of: "13:45:30", with: "13:45:31"))) != original)
    #expect(try digest(wire(body.replacingOccurrences(of: "To: support@", with: "To: sales@"))) != original)
    #expect(try digest(wire(body.replacingOccurrences(of: "Printer_on", with: "Scanner_on"))) != original)
    // A header-only copy differs from the full message but is itself stable.
    let headerOnly = wire(body.components(separatedBy: "\n\n")[0] + "\n")
    #expect(try digest(headerOnly) != original)
    #expect(try digest(headerOnly) == digest(headerOnly))
}

@Test func bodyStartFindsTheBlankLine() {
    #expect(MIMEParser.bodyStart(Array("A: 1\r\nB: 2\r\n\r\nbody".utf8)) == 14)
    #expect(MIMEParser.bodyStart(Array("A: 1\nB: 2\n\nbody".utf8)) == 11)
    #expect(MIMEParser.bodyStart(Array("A: 1\nB: 2\n".utf8)) == 10)
    #expect(MIMEParser.bodyStart([]) == 0)
}
