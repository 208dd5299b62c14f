import MailCore
import MailCrypto
import Testing

@Suite struct RecordTokenSignerTests {
    let master = SecretKey.random()

    @Test func roundTripsAndIsUniqueEachTime() {
        let signer = RecordTokenSigner(master: master, tenant: TenantID(1))
        let a = signer.messageID(type: .supportCase, id: 42, domain: "mail.acme.test")
        let b = signer.messageID(type: .supportCase, id: 42, domain: "mail.acme.test")
        #expect(a != b)
        #expect(a.hasSuffix("@mail.acme.test"))
        #expect(signer.verify(a)?.type == .supportCase)
        #expect(signer.verify(a)?.id == 42)
        #expect(signer.verify("<\(a.uppercased())>")?.id == 42)
        for type in RecordType.allCases {
            #expect(signer.verify(signer.messageID(type: type, id: 7, domain: "x.test"))?.type == type)
        }
    }

    @Test func rejectsForgedForeignAndMalformedIDs() {
        let signer = RecordTokenSigner(master: master, tenant: TenantID(1))
        let genuine = signer.messageID(type: .supportCase, id: 42, domain: "x.test")
        // Another record id with the same MAC: forged.
        #expect(signer.verify(genuine.replacingOccurrences(of: ".42.", with: ".43.")) == nil)
        // Another tenant's key, another master key.
        #expect(RecordTokenSigner(master: master, tenant: TenantID(2)).verify(genuine) == nil)
        #expect(RecordTokenSigner(master: SecretKey.random(), tenant: TenantID(1)).verify(genuine) == nil)
        for junk in ["", "abc@x.test", "mr1.case.42.0011223344556677.00@x.test", "mr1.case.-1.0011223344556677.\(String(repeating: "0", count: 32))@x",
                     "mr1.case.42.0011223344556677.\(String(repeating: "0", count: 32))@x.test", "mr1.widget.4.0011223344556677.zz@x"] {
            #expect(signer.verify(junk) == nil)
        }
    }
}
