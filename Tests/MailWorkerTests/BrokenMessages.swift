import Foundation

/// Deliberately malformed messages: each must end up stored (tolerated) or recorded as a failure
/// with a reason, and none may crash the worker or block the folder.
enum BrokenMessages {
    static var all: [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        func add(_ name: String, _ text: String) { out.append((name, TestMessages.crlf(text))) }
        add("headers only, no body", "From: a@x.test\nSubject: only headers\nMessage-ID: <b1@x.test>\n")
        add("no headers at all", "just a line of text without any header\n")
        add("header line without colon", "From a@x.test\nThis is not a header\nSubject: ok\nMessage-ID: <b3@x.test>\n\nbody\n")
        add("multipart without boundary parameter", "Message-ID: <b4@x.test>\nContent-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n")
        add("truncated multipart", "Message-ID: <b5@x.test>\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\npart one\n--zz\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK")
        add("invalid base64", "Message-ID: <b6@x.test>\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!! not base64 @@@@ ====\n")
        add("unknown charset", "Message-ID: <b7@x.test>\nSubject: =?x-unknown-charset?Q?caf=E9?=\nContent-Type: text/plain; charset=x-no-such-charset\n\ncaf\u{e9}\n")
        add("bad encoded word", "Message-ID: <b8@x.test>\nSubject: =?UTF-8?B?not-valid-base64===?= and =?UTF-8?Q?broken\n\nbody\n")
        add("address soup", "Message-ID: <b9@x.test>\nFrom: <<<@@>>>, \"unterminated\nTo: ;;;,,,@\nCc: undisclosed-recipients:;\n\nbody\n")
        add("huge header line", "Message-ID: <b10@x.test>\nX-Long: " + String(repeating: "a", count: 70_000) + "\nSubject: long\n\nbody\n")
        add("deep nesting", "Message-ID: <b11@x.test>\n" + (0..<60).map { "Content-Type: multipart/mixed; boundary=b\($0)\n\n--b\($0)\n" }.joined() + "Content-Type: text/plain\n\ndeep\n")
        add("bad date and message id", "Message-ID: not even close\nDate: the day after tomorrow\nSubject: odd\n\nbody\n")
        add("lone dot lines", "Message-ID: <b13@x.test>\nSubject: dots\n\n.\n..\n.\nend\n")
        // Raw bytes that are not UTF-8, and NUL bytes in headers and body.
        var latin = TestMessages.crlf("Message-ID: <b14@x.test>\nSubject: ")
        latin += [0xE9, 0xE8, 0xFF, 0xFE] + TestMessages.crlf("\nContent-Type: text/plain\n\n") + [0x00, 0x41, 0xC3, 0x28, 0x00, 0x0D, 0x0A]
        out.append(("8-bit and NUL bytes", latin))
        out.append(("binary garbage", (0..<2048).map { UInt8(truncatingIfNeeded: ($0 &* 131) ^ 0x5A) }))
        return out
    }
}
