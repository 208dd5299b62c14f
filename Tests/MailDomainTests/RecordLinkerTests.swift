import MailCore
import MailDomain
import Testing

@Suite struct RecordLinkerTests {
    let peter = AddressOwner(address: "peter@initech.test", type: .contact, id: 7, contactAccountID: 3)
    let loner = AddressOwner(address: "solo@home.test", type: .contact, id: 8)
    let initech = AddressOwner(address: "info@initech.test", type: .account, id: 3)
    let lead = AddressOwner(address: "new@prospect.test", type: .lead, id: 11)

    @Test func tokenBeatsThreadBeatsAddresses() {
        let owners = [peter]
        let all = RecordLinker.Input(token: RecordRef(.opportunity, 5), threadParent: RecordRef(.supportCase, 9),
                                     from: "peter@initech.test", owners: owners)
        #expect(RecordLinker.decide(all) == LinkDecision(RecordRef(.opportunity, 5), .token))
        var noToken = all
        noToken.token = nil
        #expect(RecordLinker.decide(noToken) == LinkDecision(RecordRef(.supportCase, 9), .thread))
        noToken.threadParent = nil
        #expect(RecordLinker.decide(noToken) == LinkDecision(RecordRef(.account, 3), .from))
    }

    @Test func contactLinksToItsAccountUnlessBusinessToConsumerOrWithoutAccount() {
        #expect(RecordLinker.record(for: "Peter@Initech.test", owners: [peter], businessToConsumer: false) == RecordRef(.account, 3))
        #expect(RecordLinker.record(for: "peter@initech.test", owners: [peter], businessToConsumer: true) == RecordRef(.contact, 7))
        #expect(RecordLinker.record(for: "solo@home.test", owners: [loner], businessToConsumer: false) == RecordRef(.contact, 8))
        #expect(RecordLinker.record(for: "new@prospect.test", owners: [lead], businessToConsumer: false) == RecordRef(.lead, 11))
        #expect(RecordLinker.record(for: "nobody@x.test", owners: [peter, lead], businessToConsumer: false) == nil)
    }

    @Test func fromThenReplyToThenTo() {
        let input = RecordLinker.Input(from: "stranger@x.test", replyTo: "new@prospect.test", to: "info@initech.test",
                                       owners: [lead, initech])
        #expect(RecordLinker.decide(input) == LinkDecision(RecordRef(.lead, 11), .replyTo))
        let toOnly = RecordLinker.Input(from: "stranger@x.test", to: "info@initech.test", owners: [initech])
        #expect(RecordLinker.decide(toOnly) == LinkDecision(RecordRef(.account, 3), .to))
    }

    @Test func sharedAddressIsDecidedByKindThenPrimaryThenPositionThenID() {
        let a = "shared@x.test"
        let leadOwner = AddressOwner(address: a, type: .lead, id: 1, isPrimary: true)
        let account = AddressOwner(address: a, type: .account, id: 50)
        let c1 = AddressOwner(address: a, type: .contact, id: 20, position: 1)
        let c2 = AddressOwner(address: a, type: .contact, id: 30, position: 0)
        let c3 = AddressOwner(address: a, type: .contact, id: 40, isPrimary: true, position: 2)
        let c4 = AddressOwner(address: a, type: .contact, id: 10, position: 0)
        #expect(RecordLinker.preferred([leadOwner, account]) == account)
        #expect(RecordLinker.preferred([account, c1]) == c1)
        #expect(RecordLinker.preferred([c1, c2]) == c2)
        #expect(RecordLinker.preferred([c1, c2, c3]) == c3)
        #expect(RecordLinker.preferred([c2, c4]) == c4)
        // Independent of input order.
        #expect(RecordLinker.preferred([c4, c2, c1, account]) == RecordLinker.preferred([account, c1, c2, c4]))
    }

    @Test func threadOrderIsInReplyToThenNewestReferenceFirst() {
        #expect(RecordLinker.threadOrder(inReplyTo: "<c@x>", references: ["<a@x>", "b@x", "c@x"]) == ["c@x", "b@x", "a@x"])
        #expect(RecordLinker.threadOrder(inReplyTo: nil, references: []) == [])
    }

    @Test func senderRecordsOfANewCase() {
        #expect(RecordLinker.senderRecords("peter@initech.test", owners: [peter]) == (7, 3, nil))
        #expect(RecordLinker.senderRecords("new@prospect.test", owners: [lead]) == (nil, nil, 11))
        #expect(RecordLinker.senderRecords("x@y.test", owners: [lead]) == (nil, nil, nil))
    }
}
