import Foundation
import Testing
@testable import MailMIME

/// A message whose single text/plain body is `body`, declared in `charset`.
private func textMessage(charset: String?, encoding: String = "8bit", body: [UInt8]) -> [UInt8] {
    let type = charset.map { "text/plain; charset=\($0)" } ?? "text/plain"
    return wire([
        .text("From: a@example.com\nSubject: charset\nContent-Type: \(type)\nContent-Transfer-Encoding: \(encoding)\n\n"),
        .bytes(body),
    ])
}

/// GMime's charset samples (see Fixtures/charsets/README.md) against their UTF-8 references.
@Test("charset samples convert to their UTF-8 references", arguments: [
    ("cyrillic.koi8-r.txt", "KOI8-R", "cyrillic.utf-8.txt"),
    ("cyrillic.cp1251.txt", "windows-1251", "cyrillic.utf-8.txt"),
    ("japanese.iso-2022-jp.txt", "ISO-2022-JP", "japanese.utf-8.txt"),
])
func charsetSamples(sample: String, charset: String, reference: String) throws {
    let body = try Fixtures.bytes("charsets/\(sample)")
    var expected = String(decoding: try Fixtures.bytes("charsets/\(reference)"), as: UTF8.self)
    while expected.hasSuffix("\n") { expected.removeLast() }  // bodies lose trailing line breaks
    let message = try parsed(textMessage(charset: charset, encoding: "7bit", body: body))
    #expect(message.textBody == expected)
    #expect(message.problems.isEmpty, "got \(message.problems)")
}

@Test func windows1252BodyKeepsItsOwnCharacters() throws {
    let body = try Fixtures.bytes("charsets/french-fable.cp1252.txt")
    let message = try parsed(textMessage(charset: "windows-1252", body: body))
    let text = try #require(message.textBody)
    #expect(text.hasPrefix("Maître Corbeau, sur un arbre perché,"))
    // 0x92 is a right single quotation mark in windows-1252 only (a C1 control in ISO-8859-1).
    #expect(text.contains("Maître Renard, par l’odeur alléché,"))
    #expect(text.contains("« Hé ! bonjour, Monsieur du Corbeau."))
}

@Test func iso88591QuotedPrintableBody() throws {
    let message = try parsed(textMessage(charset: "\"ISO-8859-1\"", encoding: "quoted-printable",
                                         body: Array("Gr=FC=DFe aus M=FCnchen =\nund K=F6ln".utf8)))
    #expect(message.textBody == "Grüße aus München und Köln")
}

@Test func undeclaredEightBitIsGuessed() throws {
    let utf8 = try parsed(textMessage(charset: nil, body: Array("naïve café".utf8)))
    #expect(utf8.textBody == "naïve café")
    #expect(utf8.problems.isEmpty)

    let latin = try parsed(textMessage(charset: nil, body: [0x63, 0x61, 0x66, 0xE9, 0x20, 0x80, 0x35]))
    #expect(latin.textBody == "café €5")
    #expect(latin.problems.contains { $0.contains("charset guessed") })

    let mislabelled = try parsed(textMessage(charset: "us-ascii", body: [0x63, 0x61, 0x66, 0xE9]))
    #expect(mislabelled.textBody == "café")
}

@Test func invalidBytesNeverBreakText() throws {
    let invalidUTF8 = try parsed(textMessage(charset: "utf-8", body: [0x61, 0xFF, 0xFE, 0x62, 0xC3]))
    #expect(invalidUTF8.textBody == "a\u{FFFD}\u{FFFD}b\u{FFFD}")
    #expect(invalidUTF8.problems.contains { $0.contains("invalid UTF-8") })

    // Bytes undefined in windows-1252 (0x81, 0x8D) are skipped by the converter.
    let undefined = try parsed(textMessage(charset: "windows-1252", body: [0x61, 0x81, 0x62, 0x8D, 0x63]))
    let text = try #require(undefined.textBody)
    #expect(text.hasPrefix("a") && text.hasSuffix("c") && text.contains("b"))

    let unknown = try parsed(textMessage(charset: "x-no-such-charset", body: Array("plain words".utf8)))
    #expect(unknown.textBody == "plain words")
    #expect(unknown.problems.contains { $0.contains("unknown charset") })
}
