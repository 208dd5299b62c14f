import MailCore
import Testing
@testable import MailTransport

/// Pure parts of the transport: no server needed.
struct RetryDecisionCase: Sendable, CustomStringConvertible {
    let stream: String
    let answered: Bool
    var description: String { stream.debugDescription }
}

@Test(arguments: [
    RetryDecisionCase(stream: "", answered: false),
    RetryDecisionCase(stream: "* BYE Disconnected for inactivity.\r\n", answered: false),
    RetryDecisionCase(stream: "* 1 FETCH (UID 1 BODY[] {147}\r\n)\r\n* BYE IMAP session state is inconsistent\r\n",
                      answered: false),
    RetryDecisionCase(stream: "+ OK\r\n", answered: true),  // APPEND's literal was taken
    RetryDecisionCase(stream: "* SEARCH 1\r\nA7 OK Search completed.\r\n", answered: true),
    RetryDecisionCase(stream: "A7 NO [TRYCREATE] no\r\n* garbage (", answered: true),
    RetryDecisionCase(stream: "* 1 FETCH (UID 1 BODY[HEADER] {30}\r\nA7 OK looks like a tag", answered: false),
])
func retryOnlyWhenTheServerNeverAnswered(_ example: RetryDecisionCase) {
    #expect(IMAPSession.serverAnswered(Array(example.stream.utf8)) == example.answered)
}

@Test func urlsEncodeMailboxNames() {
    let endpoint = IMAPEndpoint(host: "::1", port: 993, security: .tls, username: "u", password: Secret("p"))
    let url = IMAPURL(endpoint: endpoint)
    #expect(url.root == "imaps://[::1]:993/")
    let plain = IMAPURL(endpoint: IMAPEndpoint(host: "127.0.0.1", port: 143, security: .starttls,
                                               username: "u", password: Secret("p")))
    #expect(plain.mailbox("Entwürfe 100%; ja?") == "imap://127.0.0.1:143/Entw%26APw-rfe%20100%25%3B%20ja%3F")
    #expect(plain.message("INBOX", uid: 7, uidValidity: 42, section: "HEADER")
        == "imap://127.0.0.1:143/INBOX;UIDVALIDITY=42/;UID=7/;SECTION=HEADER")
}

@Test func errorDescriptionIsLogSafe() {
    let error = TransportError(.authenticationFailed, curlCode: 67, detail: "Login denied")
    #expect(error.description == "IMAP transport error authenticationFailed (curl 67): Login denied")
    #expect(!error.isTransient)
    #expect(TransportError(.connectionLost, detail: "x").isTransient)
}
