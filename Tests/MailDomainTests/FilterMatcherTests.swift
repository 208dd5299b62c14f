import MailDomain
import Testing

@Suite struct FilterMatcherTests {
    func message(from: [String] = ["someone@example.test"], to: [String] = ["support@acme.test"], subject: String? = "Hello",
                 headers: [(String, String)] = [], text: String? = nil, html: String? = nil, hasBody: Bool = true) -> FilterMessage {
        FilterMessage(from: from, toOrCc: to, subject: subject, headers: headers.map { (name: $0.0, value: $0.1) },
                      bodyText: text, bodyHTML: html, hasBody: hasBody)
    }

    @Test(arguments: [
        ("*@spam.test", "bulk@spam.test", true),
        ("*@spam.test", "bulk@spam.test.example", false),
        ("*@SPAM.test", "Bulk@spam.TEST", true),
        ("exact@x.test", "exact@x.test", true),
        ("exact@x.test", "exact@x.testy", false),
        ("*ärger*", "Großer ÄRGER heute", true),
        ("*ärger*", "Grosser Aerger", false),
        ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "aXXcYYb", false),
        ("*", "", true),
        ("**x", "x", true),
        ("ab*ba", "aba", false),
        ("*日本*", "件名: 日本語のメール", true),
        ("*straße*", "HAUPTSTRASSE 5", true),
    ])
    func wildcard(pattern: String, text: String, expected: Bool) {
        #expect(Wildcard(pattern).matches(text) == expected)
    }

    @Test func decomposedAccentsMatchPrecomposed() {
        #expect(Wildcard("*café*").matches("Le Cafe\u{301} du coin"))
    }

    @Test func allPresentCriteriaMustMatch() {
        let c = EmailFilter.Criteria(from: "*@spam.test", subject: "*offer*")
        #expect(FilterMatcher.matches(c, message(from: ["x@spam.test"], subject: "Big OFFER")))
        #expect(!FilterMatcher.matches(c, message(from: ["x@spam.test"], subject: "Invoice")))
        #expect(!FilterMatcher.matches(c, message(from: ["x@ham.test"], subject: "offer")))
    }

    @Test func toMatchesCcToo() {
        let c = EmailFilter.Criteria(toOrCc: "bob@acme.test")
        #expect(FilterMatcher.matches(c, message(to: ["support@acme.test", "BOB@acme.test"])))
        #expect(!FilterMatcher.matches(c, message(to: ["support@acme.test"])))
    }

    @Test func headerByNameWithWildcardValue() {
        let c = EmailFilter.Criteria(header: .init(name: "list-id", pattern: "*<news.example.test>"))
        #expect(FilterMatcher.matches(c, message(headers: [("List-Id", " Example News <news.example.test> ")])))
        #expect(!FilterMatcher.matches(c, message(headers: [("List-Post", "<news.example.test>")])))
        #expect(!FilterMatcher.matches(c, message(headers: [])))
    }

    @Test func bodyAnyAndAllOverTextAndHTML() {
        let any = EmailFilter.Criteria(bodyContainsAny: ["unsubscribe", "abmelden"])
        let all = EmailFilter.Criteria(bodyContainsAll: ["invoice", "overdue"])
        #expect(FilterMatcher.matches(any, message(text: "Click to UNSUBSCRIBE")))
        #expect(FilterMatcher.matches(any, message(html: "<p>Hier <b>abmelden</b></p>")))
        #expect(!FilterMatcher.matches(any, message(text: "nothing here")))
        #expect(FilterMatcher.matches(all, message(text: "Your Invoice", html: "<div>is <i>OVERDUE</i></div>")))
        #expect(!FilterMatcher.matches(all, message(text: "Your invoice is paid")))
        // Without a body (header-only decision), body criteria cannot match.
        #expect(!FilterMatcher.matches(any, message(text: nil, hasBody: false)))
    }

    @Test func emptyCriteriaAreRefused() {
        let f = EmailFilter(name: "all", scope: .global, criteria: .init(), action: .skip)
        #expect(f.problem?.contains("no criteria") == true)
        let markRead = EmailFilter(name: "r", scope: .account, criteria: .init(from: "*"), action: .markRead)
        #expect(markRead.problem != nil)
        #expect(EmailFilter(name: "ok", scope: .user, criteria: .init(from: "*"), action: .markRead).problem == nil)
    }

    @Test func skipBeatsFolderAndGlobalComesFirst() {
        let filters = [
            EmailFilter(id: 1, name: "acct-folder", scope: .account, criteria: .init(subject: "*"), action: .folder("misc"), position: 0),
            EmailFilter(id: 2, name: "global-folder", scope: .global, criteria: .init(subject: "*news*"), action: .folder("news"), position: 5),
            EmailFilter(id: 3, name: "acct-skip", scope: .account, criteria: .init(from: "*@spam.test"), action: .skip, position: 9),
        ]
        #expect(FilterMatcher.decide(filters, message(from: ["a@spam.test"], subject: "news")) == .skip(filter: "acct-skip"))
        #expect(FilterMatcher.decide(filters, message(subject: "Weekly news")) == .groupFolder("news"))
        #expect(FilterMatcher.decide(filters, message(subject: "Hi")) == .groupFolder("misc"))
        #expect(FilterMatcher.decide([], message()) == .keep)
    }

    @Test func beforeDownloadOnlyHeaderFilters() {
        let filters = [
            EmailFilter(name: "body", scope: .global, criteria: .init(bodyContainsAny: ["x"]), action: .skip),
            EmailFilter(name: "hdr", scope: .global, criteria: .init(from: "*@spam.test"), action: .skip),
        ]
        let header = message(from: ["a@spam.test"], hasBody: false)
        #expect(FilterMatcher.decideBeforeDownload(filters, header: header) == .skip(filter: "hdr"))
        #expect(FilterMatcher.decideBeforeDownload(filters, header: message(hasBody: false)) == .keep)
        #expect(FilterMatcher.hasHeaderOnlySkip(filters))
        #expect(!FilterMatcher.hasHeaderOnlySkip([filters[0]]))
    }

    @Test func userActionsCombine() {
        let filters = [
            EmailFilter(id: 1, name: "read", scope: .user, criteria: .init(subject: "*report*"), action: .markRead),
            EmailFilter(id: 2, name: "move", scope: .user, criteria: .init(subject: "*report*"), action: .folder("reports")),
            EmailFilter(id: 3, name: "quiet", scope: .user, criteria: .init(from: "robot@*"), action: .noNotify),
            EmailFilter(id: 4, name: "trash", scope: .user, criteria: .init(from: "*@spam.test"), action: .skip),
        ]
        let a = FilterMatcher.userActions(filters, message(from: ["robot@ci.test"], subject: "Nightly report"))
        #expect(a == .init(trash: false, folder: "reports", markRead: true, noNotify: true))
        #expect(FilterMatcher.userActions(filters, message(from: ["x@spam.test"])) == .init(trash: true))
        #expect(FilterMatcher.userActions(filters, message()).isEmpty)
    }

    @Test func htmlText() {
        let html = """
            <html><head><style>p { color: red }</style><script>var unsubscribe = 1;</script></head>
            <body><!-- hidden --><p>Fish &amp; Chips&nbsp;for &#8364;5 &#x263A;</p><br>Gr&uuml;&szlig;e<div>end</div></body></html>
            """
        let text = HTMLText.extract(html)
        #expect(text.contains("Fish & Chips for €5 ☺"))
        #expect(text.contains("Grüße"))
        #expect(!text.contains("color"))
        #expect(!text.contains("unsubscribe"))
        #expect(!text.contains("hidden"))
        #expect(HTMLText.extract("a &bogus; b & c") == "a &bogus; b & c")
    }
}
