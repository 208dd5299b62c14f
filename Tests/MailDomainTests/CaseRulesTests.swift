import MailCore
import MailDomain
import Testing

@Suite struct CaseNumberTagTests {
    @Test(arguments: [
        ("Re: [#42] printer on fire", Int64(42)), ("[#7]", 7), ("x [#] [#12]", 12), ("[# 3] [#4x]", nil),
        ("no tag", nil), ("[#0]", nil), ("[#123456789012345678]", 123456789012345678), ("[#1234567890123456789]", nil),
    ] as [(String, Int64?)])
    func parses(_ subject: String, _ expected: Int64?) {
        #expect(CaseNumberTag.parse(subject) == expected)
    }
}

@Suite struct AutomaticMailTests {
    @Test func recognisesMachineMail() {
        #expect(AutomaticMail.reason(headers: [("Auto-Submitted", "auto-replied")], from: "a@b.test") == .autoSubmitted)
        #expect(AutomaticMail.reason(headers: [("auto-submitted", " Auto-Generated; owner=x")], from: nil) == .autoSubmitted)
        #expect(AutomaticMail.reason(headers: [("Auto-Submitted", "no")], from: "a@b.test") == nil)
        #expect(AutomaticMail.reason(headers: [("X-Autoreply", "yes")], from: "a@b.test") == .autoReplyHeader)
        #expect(AutomaticMail.reason(headers: [("X-Autorespond", "1")], from: "a@b.test") == .autoReplyHeader)
        #expect(AutomaticMail.reason(headers: [("Content-Type", "multipart/report; report-type=delivery-status; boundary=x")],
                                     from: "a@b.test") == .deliveryReport)
        #expect(AutomaticMail.reason(headers: [], from: "MAILER-DAEMON@mx.test") == .daemonSender)
        #expect(AutomaticMail.reason(headers: [("Content-Type", "text/plain"), ("Subject", "hi")], from: "a@b.test") == nil)
    }
}

@Suite struct CaseRoutingTests {
    let tagged = CaseRouting.TaggedCase(caseID: 5, senderRelated: false)

    @Test func threadLinksJoinTheirCaseOrStayOnTheirRecord() {
        let token = LinkDecision(RecordRef(.supportCase, 9), .token)
        #expect(CaseRouting.decide(link: token, tagged: nil, trustAnySender: false, isAutomatic: true, createsCases: true) == .join(caseID: 9))
        let thread = LinkDecision(RecordRef(.opportunity, 4), .thread)
        #expect(CaseRouting.decide(link: thread, tagged: nil, trustAnySender: false, isAutomatic: false, createsCases: true) == .linkOnly)
    }

    @Test func tagJoinsOnlyForRelatedSendersOrWithTrustAny() {
        let from = LinkDecision(RecordRef(.account, 3), .from)
        #expect(CaseRouting.decide(link: from, tagged: tagged, trustAnySender: false, isAutomatic: false, createsCases: true) == .create)
        #expect(CaseRouting.decide(link: from, tagged: tagged, trustAnySender: true, isAutomatic: false, createsCases: true) == .join(caseID: 5))
        let related = CaseRouting.TaggedCase(caseID: 5, senderRelated: true)
        #expect(CaseRouting.decide(link: nil, tagged: related, trustAnySender: false, isAutomatic: false, createsCases: true) == .join(caseID: 5))
    }

    @Test func automaticMailNeverCreatesACaseAndNoCaseWithoutCreate() {
        #expect(CaseRouting.decide(link: nil, tagged: nil, trustAnySender: false, isAutomatic: true, createsCases: true) == .linkOnly)
        #expect(CaseRouting.decide(link: nil, tagged: nil, trustAnySender: false, isAutomatic: false, createsCases: false) == .linkOnly)
        #expect(CaseRouting.decide(link: nil, tagged: nil, trustAnySender: false, isAutomatic: false, createsCases: true) == .create)
    }

    @Test func reopenOnlyClosedCasesForCustomersWhenEnabled() {
        let closed = ["Closed", "Rejected", "Duplicate"]
        #expect(CaseRouting.reopens(status: "Closed", closedStatuses: closed, reopenEnabled: true, isAutomatic: false, senderIsUser: false))
        #expect(!CaseRouting.reopens(status: "Closed", closedStatuses: closed, reopenEnabled: false, isAutomatic: false, senderIsUser: false))
        #expect(!CaseRouting.reopens(status: "Assigned", closedStatuses: closed, reopenEnabled: true, isAutomatic: false, senderIsUser: false))
        #expect(!CaseRouting.reopens(status: "Rejected", closedStatuses: closed, reopenEnabled: true, isAutomatic: true, senderIsUser: false))
        #expect(!CaseRouting.reopens(status: "Rejected", closedStatuses: closed, reopenEnabled: true, isAutomatic: false, senderIsUser: true))
    }
}

@Suite struct CaseDistributionTests {
    let users = [UserID(10), UserID(20), UserID(30)]

    @Test func roundRobinRotatesInIDOrderFromThePointer() {
        let eligible = users.reversed().map { CaseDistribution.Candidate($0) }
        var last: UserID?
        var picks: [UserID] = []
        for _ in 0..<6 {
            last = CaseDistribution.choose(.roundRobin, eligible: eligible, last: last, directUser: nil)
            picks.append(last!)
        }
        #expect(picks == users + users)
        // A pointer to a user who left the team: the next higher id, wrapping.
        #expect(CaseDistribution.choose(.roundRobin, eligible: eligible, last: UserID(25), directUser: nil) == UserID(30))
        #expect(CaseDistribution.choose(.roundRobin, eligible: eligible, last: UserID(99), directUser: nil) == UserID(10))
        #expect(CaseDistribution.choose(.roundRobin, eligible: [], last: nil, directUser: UserID(1)) == nil)
    }

    @Test func lessBusyTakesFewestOpenThenRoundRobinOrder() {
        let eligible = [CaseDistribution.Candidate(users[0], openCases: 3), .init(users[1], openCases: 1), .init(users[2], openCases: 1)]
        #expect(CaseDistribution.choose(.lessBusy, eligible: eligible, last: nil, directUser: nil) == users[1])
        #expect(CaseDistribution.choose(.lessBusy, eligible: eligible, last: users[1], directUser: nil) == users[2])
        #expect(CaseDistribution.choose(.lessBusy, eligible: eligible, last: users[2], directUser: nil) == users[1])
    }

    @Test func directIsTheConfiguredUser() {
        #expect(CaseDistribution.choose(.direct, eligible: [], last: nil, directUser: UserID(4)) == UserID(4))
    }
}

@Suite struct PlainTextTests {
    @Test func extractsReadableTextFromHTML() {
        let html = "<html><head><style>p{}</style></head><body><p>Hello&nbsp;<b>there</b></p><p>A &amp; B &lt;3</p><br>bye</body></html>"
        // Runs of blank lines collapse to one.
        #expect(PlainText.fromHTML(html) == "Hello there\nA & B <3\n\nbye")
    }
}
