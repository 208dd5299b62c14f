import MailDomain
import Testing

/// The query and `Authorization` header of `GET /v1/events` (docs/api.md).
@Suite struct EventsPageRequestTests {
    @Test(arguments: [
        ([:], EventsPageRequest(after: 0, limit: 100, waitSeconds: 0)),
        (["after": "41", "limit": "2"], EventsPageRequest(after: 41, limit: 2, waitSeconds: 0)),
        (["limit": "1000", "wait": "30"], EventsPageRequest(after: 0, limit: 1000, waitSeconds: 30)),
    ] as [([String: String], EventsPageRequest)])
    func validQueries(_ query: [String: String], _ expected: EventsPageRequest) {
        #expect(EventsPageRequest.parse(query) == .success(expected))
    }

    @Test(arguments: [
        (["after": "-1"], "after must be"), (["after": "1e3"], "after must be"), (["after": ""], "after must be"),
        (["limit": "0"], "limit must be"), (["limit": "1001"], "limit must be"), (["limit": "٣"], "limit must be"),
        (["wait": "31"], "wait must be"), (["wait": "-1"], "wait must be"),
        (["limt": "5"], "unknown query parameter \"limt\""),
    ] as [([String: String], String)])
    func invalidQueriesAreRefused(_ query: [String: String], _ message: String) {
        guard case .failure(let refusal) = EventsPageRequest.parse(query) else {
            Issue.record("accepted \(query)")
            return
        }
        #expect(refusal.message.contains(message), "\(refusal.message)")
    }

    @Test func bearerTokens() {
        #expect(EventsPageRequest.bearerToken("Bearer abc") == "abc")
        #expect(EventsPageRequest.bearerToken("bearer  abc ") == "abc")
        for header in [nil, "", "Bearer", "Bearer ", "Basic abc", "abc"] as [String?] {
            #expect(EventsPageRequest.bearerToken(header) == nil, "\(String(describing: header))")
        }
    }
}
