import Testing
@testable import MailProtocol

struct UTF7Case: Sendable, CustomStringConvertible {
    let name: String
    let wire: String
    var description: String { wire }
}

// Examples from RFC 3501 §5.1.3 and RFC 2152, plus names users create.
let utf7Cases: [UTF7Case] = [
    UTF7Case(name: "INBOX", wire: "INBOX"),
    UTF7Case(name: "Sent Items", wire: "Sent Items"),
    UTF7Case(name: "~peter/mail/台北/日本語", wire: "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    UTF7Case(name: "Entwürfe", wire: "Entw&APw-rfe"),
    UTF7Case(name: "R&D", wire: "R&-D"),
    UTF7Case(name: "&&", wire: "&-&-"),
    UTF7Case(name: "Привет", wire: "&BB8EQAQ4BDIENQRC-"),
    UTF7Case(name: "📬 Post", wire: "&2D3c7A- Post"),
    UTF7Case(name: "tab\there", wire: "tab&AAk-here"),
]

@Test(arguments: utf7Cases)
func modifiedUTF7RoundTrips(_ example: UTF7Case) throws {
    #expect(ModifiedUTF7.encode(example.name) == example.wire)
    #expect(try ModifiedUTF7.decode(example.wire) == example.name)
}

@Test(arguments: ["&U,BTFw", "&!!-", "&AP-"])
func modifiedUTF7RejectsBadShifts(_ wire: String) {
    #expect(throws: IMAPProtocolError.self) { try ModifiedUTF7.decode(wire) }
}

@Test func quotedMailboxEscapesAndEncodes() {
    #expect(IMAPCommand.quotedMailbox("a \"b\" \\c") == "\"a \\\"b\\\" \\\\c\"")
    #expect(IMAPCommand.quotedMailbox("Entwürfe") == "\"Entw&APw-rfe\"")
    #expect(IMAPCommand.flagList(["\\Seen", "$Label1"]) == "(\\Seen $Label1)")
    #expect(IMAPCommand.flagList(["bad flag"]) == nil)
    #expect(IMAPCommand.flagList([]) == "()")
}

@Suite struct MailboxNameEncodingTests {
    @Test func modifiedUTF7EscapesNonASCIIAndAmpersand() throws {
        #expect(MailboxNameEncoding.modifiedUTF7.quoted("Größe & Co") == "\"Gr&APYA3w-e &- Co\"")
        #expect(try MailboxNameEncoding.modifiedUTF7.decode("Gr&APYA3w-e &- Co") == "Größe & Co")
    }

    @Test func utf8SendsNamesAsTheyAreWithQuotesEscaped() throws {
        #expect(MailboxNameEncoding.utf8.quoted("Größe & \"Co\"\\") == "\"Größe & \\\"Co\\\"\\\\\"")
        #expect(MailboxNameEncoding.utf8.quoted("a\r\nb\u{7F}") == "\"ab\"")
        #expect(try MailboxNameEncoding.utf8.decode("Gr&APYA3w-e") == "Gr&APYA3w-e")
    }
}
