import Foundation
import Testing
@testable import MailMIME

/// Binary payloads whose every byte value occurs, so any decoding slip shows.
let everyByte: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 256) }
let pngLike: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<300).map { UInt8(truncatingIfNeeded: $0 * 11) }

@Test func nestedMixedAlternativeRelatedWithInlineImage() throws {
    let message = try parsed(wire("""
        From: a@example.com
        Subject: nested
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="mixed"

        preamble to ignore
        --mixed
        Content-Type: multipart/alternative; boundary="alt"

        --alt
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        Hello in plain =E2=9C=93
        --alt
        Content-Type: multipart/related; boundary="rel"; type="text/html"

        --rel
        Content-Type: text/html; charset=utf-8

        <p>Hello <img src="cid:logo@example"></p>
        --rel
        Content-Type: image/png
        Content-Transfer-Encoding: base64
        Content-ID: <logo@example>

        \(base64Lines(pngLike))
        --rel--
        --alt--
        --mixed
        Content-Type: application/pdf; name="report.pdf"
        Content-Disposition: attachment; filename="report.pdf"
        Content-Transfer-Encoding: base64

        \(base64Lines(everyByte))
        --mixed--
        epilogue to ignore
        """))
    #expect(message.textBody == "Hello in plain ✓")
    #expect(message.htmlBody == "<p>Hello <img src=\"cid:logo@example\"></p>")
    try #require(message.attachments.count == 2)
    let image = message.attachments[0]
    #expect(image.contentType == "image/png")
    #expect(image.contentID == "logo@example")
    #expect(image.isInline)
    #expect(image.filename == nil)
    #expect(image.data == pngLike)
    let pdf = message.attachments[1]
    #expect(pdf.contentType == "application/pdf")
    #expect(pdf.filename == "report.pdf")
    #expect(!pdf.isInline)
    #expect(pdf.data == everyByte)
    #expect(message.problems.isEmpty, "clean message, got \(message.problems)")
}

@Test func alternativePrefersTheLastRenderingOfEachKind() throws {
    let message = try parsed(wire("""
        From: a@example.com
        Content-Type: multipart/alternative; boundary=b

        --b
        Content-Type: text/plain

        first plain
        --b
        Content-Type: text/enriched

        <bold>enriched</bold>
        --b
        Content-Type: text/plain

        second plain
        --b
        Content-Type: text/html

        <b>html</b>
        --b--
        """))
    #expect(message.textBody == "second plain")
    #expect(message.htmlBody == "<b>html</b>")
    // text/enriched is neither body kind: it is kept, not silently dropped.
    #expect(message.attachments.map(\.contentType) == ["text/enriched"])
}

@Test func textAfterAnInlineImageInMixedIsKept() throws {
    let message = try parsed(wire("""
        From: a@example.com
        Content-Type: multipart/mixed; boundary=b

        --b
        Content-Type: text/plain

        before the picture
        --b
        Content-Type: image/gif
        Content-Disposition: inline; filename=pic.gif
        Content-Transfer-Encoding: base64

        R0lGODlhAQABAAAAACw=
        --b
        Content-Type: text/plain

        after the picture
        --b--
        """))
    #expect(message.textBody == "before the picture")
    #expect(message.attachments.map(\.contentType) == ["image/gif", "text/plain"])
    #expect(message.attachments[0].isInline && message.attachments[0].filename == "pic.gif")
    #expect(message.attachments[1].isInline)
    #expect(message.attachments[1].data == Array("after the picture".utf8))
}

@Test func filenamesInRFC2231AndRFC2047Forms() throws {
    let message = try parsed(wire("""
        From: a@example.com
        Content-Type: multipart/mixed; boundary=b

        --b
        Content-Type: text/plain

        see attachments
        --b
        Content-Type: application/pdf
        Content-Disposition: attachment; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf

        x
        --b
        Content-Type: text/plain; name*0*=ISO-8859-1''%A3%20rates; name*1=".txt"
        Content-Disposition: attachment

        y
        --b
        Content-Type: image/jpeg; name="=?UTF-8?B?\(Data("Фото.jpg".utf8).base64EncodedString())?="
        Content-Disposition: attachment

        z
        --b
        Content-Type: application/octet-stream
        Content-Disposition: attachment;
         filename*0="a very long name that ";
         filename*1="continues here.bin"

        w
        --b--
        """))
    #expect(message.textBody == "see attachments")
    #expect(message.attachments.map(\.filename) == [
        "naïve résumé.pdf", "£ rates.txt", "Фото.jpg", "a very long name that continues here.bin",
    ])
    #expect(message.attachments.map(\.data) == [[UInt8(ascii: "x")], [UInt8(ascii: "y")], [UInt8(ascii: "z")], [UInt8(ascii: "w")]])
}

@Test func attachmentBytesSurviveEveryTransferEncoding() throws {
    // Quoted-printable of every byte value, 8bit and binary payloads.
    var quoted = ""
    var lineLength = 0
    for byte in everyByte {
        let piece = (33...126).contains(byte) && byte != UInt8(ascii: "=") ? String(UnicodeScalar(byte)) : String(format: "=%02X", byte)
        if lineLength + piece.count > 75 { quoted += "=\n"; lineLength = 0 }
        quoted += piece
        lineLength += piece.count
    }
    let raw = wire([
        .text("""
            From: a@example.com
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: application/octet-stream; name=qp.bin
            Content-Transfer-Encoding: quoted-printable

            \(quoted)
            --b
            Content-Type: application/octet-stream; name=b64.bin
            Content-Transfer-Encoding: base64

            \(base64Lines(everyByte))
            --b
            Content-Type: application/octet-stream; name=raw.bin
            Content-Transfer-Encoding: binary


            """),
        .bytes(everyByte.filter { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }),
        .text("\n--b--\n"),
    ])
    let message = try parsed(raw)
    try #require(message.attachments.count == 3)
    #expect(message.attachments[0].filename == "qp.bin")
    #expect(message.attachments[0].data == everyByte)
    #expect(message.attachments[1].data == everyByte)
    #expect(message.attachments[2].data == everyByte.filter { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") })
}

@Test func embeddedMessageIsOneEmlAttachment() throws {
    let message = try parsed(wire("""
        From: a@example.com
        Subject: Fwd: quarterly numbers
        Content-Type: multipart/mixed; boundary=outer

        --outer
        Content-Type: text/plain

        Forwarding this.
        --outer
        Content-Type: message/rfc822

        From: b@example.com
        Subject: Quarterly numbers: Q3/Q4
        Content-Type: multipart/mixed; boundary=inner

        --inner
        Content-Type: text/plain

        inner text
        --inner
        Content-Type: application/pdf; name=inner.pdf

        pdf
        --inner--
        --outer--
        """))
    #expect(message.textBody == "Forwarding this.")
    try #require(message.attachments.count == 1)
    let eml = message.attachments[0]
    #expect(eml.contentType == "message/rfc822")
    #expect(eml.filename == "Quarterly numbers_ Q3_Q4.eml")
    let inner = try parsed(eml.data)
    #expect(inner.subject == "Quarterly numbers: Q3/Q4")
    #expect(inner.textBody == "inner text")
    #expect(inner.attachments.map(\.filename) == ["inner.pdf"])
}

@Test func htmlOnlyAndNonTextTopLevelParts() throws {
    let html = try parsed(wire("From: a@example.com\nContent-Type: text/html; charset=us-ascii\n\n<p>only html</p>"))
    #expect(html.htmlBody == "<p>only html</p>")
    #expect(html.textBody == nil)

    let pdf = try parsed(wire("""
        From: a@example.com
        Content-Type: application/pdf
        Content-Disposition: attachment; filename=whole.pdf
        Content-Transfer-Encoding: base64

        \(base64Lines(everyByte))
        """))
    #expect(pdf.textBody == nil)
    #expect(pdf.attachments.map(\.filename) == ["whole.pdf"])
    #expect(pdf.attachments.first?.data == everyByte)
}
