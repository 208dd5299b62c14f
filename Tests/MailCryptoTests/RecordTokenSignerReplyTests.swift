import MailCore
import MailCrypto
import Testing

/// Which Message-ID an outgoing email on a record ends up with.
@Suite struct RecordTokenSignerReplyTests {
    let signer = RecordTokenSigner(master: SecretKey.random(), tenant: TenantID(3))
    let supportCase = RecordRef(.supportCase, 12)

    @Test func keepsAMessageIDThatVerifiesForTheRecord() {
        let current = signer.messageID(type: .supportCase, id: 12, domain: "acme.test")
        #expect(signer.messageID(replacing: current, for: supportCase, domain: "acme.test") == nil)
        #expect(signer.messageID(replacing: "<\(current)>", for: supportCase, domain: "other.test") == nil)
    }

    @Test func replacesRandomForeignAndOtherRecordsIDs() throws {
        let others = [
            "3f2a9c1e-0000-4000-8000-000000000000@acme.test",
            signer.messageID(type: .supportCase, id: 13, domain: "acme.test"),
            signer.messageID(type: .contact, id: 12, domain: "acme.test"),
            RecordTokenSigner(master: SecretKey.random(), tenant: TenantID(3)).messageID(type: .supportCase, id: 12, domain: "acme.test"),
        ]
        for current in others {
            let fresh = try #require(signer.messageID(replacing: current, for: supportCase, domain: "acme.test"))
            #expect(fresh.hasSuffix("@acme.test"))
            #expect(signer.verify(fresh)?.type == .supportCase)
            #expect(signer.verify(fresh)?.id == 12)
        }
    }
}
