import Foundation

/// Realistic test messages, built as raw RFC 5322 bytes with CRLF line ends.
enum TestMessages {
    static func crlf(_ text: String) -> [UInt8] {
        Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    static func plain(id: String?, subject: String, from: String = "Peter Gibbons <peter@initech.test>",
                      to: String = "support@acme.test", cc: String? = nil, body: String = "Hello,\nthe TPS report is late.\n",
                      date: String = "Tue, 01 Dec 2026 09:00:00 +0000", extraHeaders: [String] = []) -> [UInt8] {
        var h = ["From: \(from)", "To: \(to)"]
        if let cc { h.append("Cc: \(cc)") }
        h.append("Subject: \(subject)")
        h.append("Date: \(date)")
        if let id { h.append("Message-ID: <\(id)>") }
        h += extraHeaders
        h += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
        return crlf(h.joined(separator: "\n") + "\n\n" + body)
    }

    /// multipart/mixed: alternative (plain + HTML with an inline cid image) + a binary attachment with
    /// an RFC 2231 encoded non-ASCII filename.
    static func rich(id: String, attachment: [UInt8], inlineImage: [UInt8]) -> [UInt8] {
        let att = Data(attachment).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn])
        let img = Data(inlineImage).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn])
        return crlf("""
            From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.test>
            To: Support <support@acme.test>, bob@acme.test
            Cc: "Lumbergh, Bill" <bill@initech.test>
            Reply-To: replies@example.test
            Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?= =?UTF-8?B?IOKcpA==?=
            Date: Wed, 02 Dec 2026 10:30:00 +0100
            Message-ID: <\(id)>
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="outer"

            --outer
            Content-Type: multipart/alternative; boundary="alt"

            --alt
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            Gr=FC=DFe, see the picture.
            --alt
            Content-Type: multipart/related; boundary="rel"

            --rel
            Content-Type: text/html; charset=utf-8

            <p>Grüße, see <img src="cid:logo@x"></p>
            --rel
            Content-Type: image/png
            Content-ID: <logo@x>
            Content-Disposition: inline
            Content-Transfer-Encoding: base64

            \(img)
            --rel--
            --alt--
            --outer
            Content-Type: application/octet-stream
            Content-Disposition: attachment; filename*=UTF-8''Bericht%20%C3%BCber%20Q3.bin
            Content-Transfer-Encoding: base64

            \(att)
            --outer--

            """)
    }
}
