import MailCore
import MailDomain
import Testing

/// The storm breaker's pure rules: which actions take a slot, and what the answer changes.
@Suite struct StormBreakerRulesTests {
    static let actions: [CaseRouting.Action] = [.create, .join(caseID: 7), .linkOnly]

    @Test func onlyANewCaseWithASenderTakesACreateSlot() {
        #expect(CaseRouting.breakerSlot(for: .create, sender: "a@b.test") == .create)
        #expect(CaseRouting.breakerSlot(for: .join(caseID: 7), sender: "a@b.test") == nil)
        #expect(CaseRouting.breakerSlot(for: .linkOnly, sender: "a@b.test") == nil)
        #expect(CaseRouting.breakerSlot(for: .create, sender: nil) == nil)
        #expect(CaseRouting.breakerSlot(for: .create, sender: "") == nil)
    }

    @Test(arguments: CaseRouting.BreakerAnswer.allCases)
    func pastTheLimitANewCaseBecomesALinkAndNothingElseChanges(_ answer: CaseRouting.BreakerAnswer) {
        #expect(CaseRouting.limited(.create, by: answer) == (answer == .taken ? .create : .linkOnly))
        #expect(CaseRouting.limited(.join(caseID: 7), by: answer) == .join(caseID: 7))
        #expect(CaseRouting.limited(.linkOnly, by: answer) == .linkOnly)
    }

    @Test func withoutAnAnswerTheActionStands() {
        for action in Self.actions { #expect(CaseRouting.limited(action, by: nil) == action) }
    }

    @Test func onlyATakenSlotAllows() {
        #expect(CaseRouting.BreakerAnswer.taken.allows)
        #expect(!CaseRouting.BreakerAnswer.tripped.allows)
        #expect(!CaseRouting.BreakerAnswer.held.allows)
    }

    @Test func decideThenLimit() {
        // Mail that would open a case: the breaker's refusal keeps its record link only.
        let from = LinkDecision(RecordRef(.contact, 3), .from)
        let decided = CaseRouting.decide(link: from, tagged: nil, trustAnySender: false, isAutomatic: false, createsCases: true)
        #expect(decided == .create)
        #expect(CaseRouting.limited(decided, by: .tripped) == .linkOnly)
        // Automatic mail never reaches the breaker: it opens nothing to begin with.
        let automatic = CaseRouting.decide(link: from, tagged: nil, trustAnySender: false, isAutomatic: true, createsCases: true)
        #expect(CaseRouting.breakerSlot(for: automatic, sender: "a@b.test") == nil)
    }
}
