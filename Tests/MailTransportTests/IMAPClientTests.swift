import MailCore
import MailProtocol
import Testing
@testable import MailTransport

/// The protocol engine against recorded transcripts (no server): pipelined fetches, untagged
/// responses in any order, BYE, NO, limits, logins. Tags are the client's own: M1, M2, …
@Suite struct IMAPClientTests {
    /// What `fetchSections` delivered, in order: the body text or the error code.
    static func deliveries(_ stream: ScriptedStream, sets: [UIDSet], limit: Int? = nil, totalLimit: Int? = nil,
                           depth: Int = 4) -> ([String], TransportError?) {
        let client = IMAPClient(stream: stream, maxResponseBytes: 1 << 20, secrets: [])
        var out: [String] = []
        do {
            try client.fetchSections(sets, section: "", limit: limit, totalLimit: totalLimit, depth: depth) { uid, result in
                switch result {
                case .success(let bytes): out.append("\(uid)=\(String(decoding: bytes, as: UTF8.self))")
                case .failure(let error): out.append("\(uid):\(error.code)")
                }
            }
            return (out, nil)
        } catch {
            return (out, error as? TransportError)
        }
    }

    static let pipelined = """
        * 1 FETCH (UID 1 BODY[] {24}
        M1 OK fake
        * 9 EXISTS
        )
        * 7 EXISTS
        * 2 FETCH (BODY[] {3}
        abc UID 2)
        * 1 FETCH (FLAGS (\\Seen))
        * 3 EXPUNGE
        * OK [ALERT] maintenance at noon
        M1 OK Fetch completed.
        * 3 FETCH (FLAGS () UID 4 BODY[] {0}
        )
        M2 NO [EXPUNGEISSUED] Some messages were expunged
        M3 OK Fetch completed.

        """

    @Test func pipelinedCommandsDeliverEveryUIDOnceWhateverTheReads() {
        let expected = ["1=M1 OK fake\r\n* 9 EXISTS\r\n", "2=abc", "4=", "3:commandFailed", "5:noSuchMessage"]
        let sets = [UIDSet([UID(1), UID(2)]), UIDSet([UID(3), UID(4)]), UIDSet([UID(5)])]
        let whole = ScriptedStream(Self.pipelined)
        let (out, error) = Self.deliveries(whole, sets: sets, depth: 2)
        #expect(out == expected)
        #expect(error == nil)
        // Two commands in flight at once, the third after the first completed.
        #expect(whole.writtenText == "M1 UID FETCH 1:2 (UID BODY.PEEK[])\r\nM2 UID FETCH 3:4 (UID BODY.PEEK[])\r\nM3 UID FETCH 5 (UID BODY.PEEK[])\r\n")
        let length = Self.pipelined.utf8.count + Self.pipelined.filter { $0 == "\n" }.count
        for cut in 1..<length {
            let (split, splitError) = Self.deliveries(ScriptedStream(Self.pipelined, cuts: [cut]), sets: sets, depth: 2)
            #expect(split == expected && splitError == nil, "cut at \(cut)")
        }
        let bytewise = ScriptedStream(Self.pipelined, cuts: Array(1..<length))
        #expect(Self.deliveries(bytewise, sets: sets, depth: 2).0 == expected)
    }

    @Test func byeMidBatchEndsItWithTheServersWords() {
        let stream = ScriptedStream("""
            * 1 FETCH (UID 1 BODY[] {5}
            hello)
            * BYE Server shutting down.

            """)
        let (out, error) = Self.deliveries(stream, sets: [UIDSet(UID(1)...UID(3))])
        #expect(out == ["1=hello"])
        #expect(error?.code == .connectionLost)
        #expect(error?.detail.contains("Server shutting down.") == true)
    }

    @Test func aServerClosingMidLiteralDiscardsThePartialMessage() {
        let stream = ScriptedStream("* 1 FETCH (UID 1 BODY[] {50}\nonly part of it", cuts: [10, 35])
        let (out, error) = Self.deliveries(stream, sets: [UIDSet([UID(1)])])
        #expect(out.isEmpty)
        #expect(error?.code == .connectionLost)
        #expect(error?.detail.contains("inside a message literal") == true)
    }

    @Test func aBodyOverTheLimitIsDroppedAndTheNextStillArrives() throws {
        let stream = ScriptedStream("""
            * 1 FETCH (UID 1 BODY[] {10}
            0123456789)
            * 2 FETCH (UID 2 BODY[] {3}
            abc)
            M1 OK done
            M2 OK noop

            """, cuts: [20])
        let client = IMAPClient(stream: stream, maxResponseBytes: 1 << 20, secrets: [])
        var out: [String] = []
        try client.fetchSections([UIDSet(UID(1)...UID(2))], section: "", limit: 4, depth: 1) { uid, result in
            switch result {
            case .success(let bytes): out.append("\(uid)=\(String(decoding: bytes, as: UTF8.self))")
            case .failure(let error): out.append("\(uid):\(error)")
            }
        }
        #expect(out.count == 2)
        #expect(out[0].contains("messageTooLarge") && out[0].contains("limit of 4 bytes"))
        #expect(out[1].contains("2=abc"))
        try client.execute(IMAPCommandLine("NOOP"))  // the connection is still in step
    }

    @Test func theBatchAllowanceShrinksAsBodiesArrive() {
        let stream = ScriptedStream("""
            * 1 FETCH (UID 1 BODY[] {4}
            abcd)
            * 2 FETCH (UID 2 BODY[] {4}
            efgh)
            * 3 FETCH (UID 3 BODY[] {2}
            ij)
            M1 OK done

            """)
        let (out, _) = Self.deliveries(stream, sets: [UIDSet(UID(1)...UID(3))], limit: 10, totalLimit: 6)
        #expect(out == ["1=abcd", "2:messageTooLarge", "3=ij"])
    }

    @Test func anEndlessLineIsRefused() {
        let stream = ScriptedStream([Array(repeating: UInt8(ascii: "x"), count: 5000)])
        let client = IMAPClient(stream: stream, maxResponseBytes: 1000, secrets: [])
        #expect(throws: TransportError.self) { try client.execute(IMAPCommandLine("NOOP")) }
    }

    @Test func refusalsNameTheCommandAndMapMissingMailboxes() {
        let stream = ScriptedStream("""
            M1 NO [NONEXISTENT] Mailbox doesn't exist: Nope
            M2 NO [TRYCREATE] Mailbox doesn't exist: Nope
            M3 BAD Error in IMAP command: Unknown command

            """)
        let client = IMAPClient(stream: stream, maxResponseBytes: 1 << 20, secrets: [])
        let codes = ["SELECT \"Nope\"", "APPEND \"Nope\" () {1}", "FROB"].map { text in
            Result { () throws(TransportError) in try client.execute(IMAPCommandLine(text)) }.error?.code
        }
        #expect(codes == [.noSuchFolder, .noSuchFolder, .commandFailed])
    }

    @Test func synchronizingLiteralsWaitForTheContinuation() throws {
        let stream = ScriptedStream("""
            + Ready for literal data
            M1 OK [APPENDUID 7 12] Append completed.

            """)
        let client = IMAPClient(stream: stream, maxResponseBytes: 1 << 20, secrets: [])
        client.capabilities = ["IMAP4REV1"]
        let answer = try client.execute(IMAPCommandLine([.text("APPEND \"INBOX\" (\\Seen) "), .literal(Array("hi".utf8))]))
        #expect(stream.writtenText == "M1 APPEND \"INBOX\" (\\Seen) {2}\r\nhi\r\n")
        #expect(try IMAPResponseParser.appendUID(answer)?.1 == UID(12))
    }

    // MARK: Login

    static func login(_ transcript: String, method: LoginMethod = .password, secret: String = "s3cret-pw")
        -> (ScriptedStream, TransportError?)
    {
        let stream = ScriptedStream(transcript)
        let client = IMAPClient(stream: stream, maxResponseBytes: 1 << 20, secrets: [secret])
        do {
            _ = try client.readGreeting()
            try client.login(username: "user@example.com", secret: secret, method: method)
            _ = try client.knownCapabilities()
            return (stream, nil)
        } catch {
            return (stream, error)
        }
    }

    @Test func loginPrefersSASLPlainWithAnInitialResponse() {
        let (stream, error) = Self.login("""
            * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN LITERAL+] ready
            M1 OK [CAPABILITY IMAP4rev1 UIDPLUS ESEARCH] Logged in

            """)
        #expect(error == nil)
        #expect(stream.writtenText == "M1 AUTHENTICATE PLAIN \(IMAPSASL.plain(username: "user@example.com", password: "s3cret-pw"))\r\n")
    }

    @Test func withoutSASLIRTheInitialResponseFollowsTheContinuation() {
        let (stream, error) = Self.login("""
            * OK ready
            * CAPABILITY IMAP4rev1 AUTH=PLAIN
            M1 OK listed
            +\u{20}
            M2 OK Logged in
            * CAPABILITY IMAP4rev1 UIDPLUS
            M3 OK listed

            """)
        #expect(error == nil)
        #expect(stream.writtenText == "M1 CAPABILITY\r\nM2 AUTHENTICATE PLAIN\r\n\(IMAPSASL.plain(username: "user@example.com", password: "s3cret-pw"))\r\nM3 CAPABILITY\r\n")
    }

    @Test func loginFallsBackToLOGINAndRespectsLOGINDISABLED() {
        let (stream, error) = Self.login("""
            * OK [CAPABILITY IMAP4rev1] ready
            M1 NO [AUTHENTICATIONFAILED] Authentication failed for s3cret-pw.

            """)
        #expect(stream.writtenText == "M1 LOGIN \"user@example.com\" \"s3cret-pw\"\r\n")
        #expect(error?.code == .authenticationFailed)
        #expect(error.map { !"\($0)".contains("s3cret-pw") } == true, "the secret never shows")
        let (disabled, refused) = Self.login("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] ready\n")
        #expect(disabled.written.isEmpty)
        #expect(refused?.code == .authenticationFailed)
    }

    @Test func oauthBearerErrorChallengeIsAnsweredThenRefused() {
        let (stream, error) = Self.login("""
            * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER] ready
            + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=
            M1 NO [AUTHENTICATIONFAILED] Authentication failed

            """, method: .oauth2, secret: "at-token-123")
        #expect(stream.writtenText == "M1 AUTHENTICATE OAUTHBEARER \(IMAPSASL.oauthBearer(username: "user@example.com", token: "at-token-123"))\r\nAQ==\r\n")
        #expect(error?.code == .authenticationFailed)
        let (xoauth, _) = Self.login("""
            * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready
            M1 OK Logged in
            * CAPABILITY IMAP4rev1
            M2 OK listed

            """, method: .oauth2, secret: "at-token-123")
        #expect(xoauth.writtenText.hasPrefix("M1 AUTHENTICATE XOAUTH2 \(IMAPSASL.xoauth2(username: "user@example.com", token: "at-token-123"))\r\n"))
    }

    @Test func greetingByeAndStartTLSRefusal() {
        let bye = IMAPClient(stream: ScriptedStream("* BYE Too many connections\n"), maxResponseBytes: 1024, secrets: [])
        #expect(Result { () throws(TransportError) in try bye.readGreeting() }.error?.code == .connectionLost)
        let plain = ScriptedStream("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\n")
        let client = IMAPClient(stream: plain, maxResponseBytes: 1024, secrets: [])
        _ = try? client.readGreeting()
        #expect(Result { () throws(TransportError) in try client.startTLS() }.error?.code == .tlsFailed)
        #expect(plain.written.isEmpty, "nothing is sent in clear when STARTTLS is missing")
    }
}

extension Result {
    var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// The session's reconnect rule against scripted connections.
@Suite struct IMAPSessionRetryTests {
    static let greetingAndLogin = """
        * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN LITERAL+] ready
        M1 OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] Logged in

        """

    /// A session whose connections play `transcripts` in turn.
    static func session(_ transcripts: [String]) -> (IMAPSession, () -> [ScriptedStream]) {
        let endpoint = IMAPEndpoint(host: "127.0.0.1", port: 143, security: .none, username: "u", password: Secret("pw-123"))
        let outbound = OutboundGuard(policy: OutboundPolicy(), host: "127.0.0.1", insecureUse: nil, resolver: .system, service: "IMAP")
        var remaining = transcripts
        var opened: [ScriptedStream] = []
        let session = IMAPSession(endpoint: endpoint, outbound: outbound) {
            guard !remaining.isEmpty else { throw TransportError(.connectFailed, detail: "no more transcripts") }
            let stream = ScriptedStream(remaining.removeFirst())
            opened.append(stream)
            return stream
        }
        return (session, { opened })
    }

    @Test func aConnectionDroppedBeforeAnyAnswerIsReplacedOnce() throws {
        let (session, streams) = Self.session([
            // The transcript ends after the first NOOP: the server closed the idle connection.
            Self.greetingAndLogin + "M2 OK NOOP completed.\n",
            Self.greetingAndLogin + "M2 OK NOOP completed.\n* BYE Disconnected for inactivity.\n",
            Self.greetingAndLogin + "M2 OK NOOP completed.\n",
        ])
        try session.noop()
        #expect(session.lastCommandConnected)
        try session.noop()
        #expect(session.lastCommandConnected, "replaced by a new connection")
        try session.noop()  // the BYE came before any answer: replaced again
        #expect(session.lastCommandConnected)
        #expect(streams().count == 3)
        #expect(Result { try session.noop() }.error != nil, "no transcript left: the failure shows")
    }

    @Test func anAnsweredCommandIsNotRepeated() throws {
        let (session, streams) = Self.session([
            // No LITERAL+: APPEND waits for the continuation, which comes; then the server is gone.
            "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\nM1 OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\n"
                + "M2 OK NOOP completed.\n+ go ahead\n",
            Self.greetingAndLogin + "M2 OK [APPENDUID 1 1] Append completed.\n",
        ])
        try session.noop()
        let outcome = Result { try session.append("INBOX", message: Array("x".utf8)) }
        #expect((outcome.error as? TransportError)?.code == .connectionLost)
        #expect(streams().count == 1)
        #expect(streams()[0].writtenText.hasSuffix("M3 APPEND \"INBOX\" (\\Seen) {1}\r\nx\r\n"))
    }

    /// Courier-IMAP: no UIDNEXT in SELECT, no ESEARCH, no CONDSTORE. UIDNEXT comes from STATUS,
    /// the search is one plain `UID SEARCH UID n:*` (its quirk of naming the highest UID dropped).
    @Test func aServerWithoutUIDNextOrESEARCHStillSyncs() throws {
        let (session, streams) = Self.session([
            """
            * OK [CAPABILITY IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT SORT QUOTA IDLE AUTH=PLAIN] Courier-IMAP ready.
            + go ahead
            M1 OK LOGIN Ok.
            * CAPABILITY IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT SORT QUOTA IDLE
            M2 OK CAPABILITY completed
            * FLAGS (\\Draft \\Answered \\Flagged \\Deleted \\Seen \\Recent)
            * OK [PERMANENTFLAGS (\\* \\Draft \\Answered \\Flagged \\Deleted \\Seen)] Limited
            * 3 EXISTS
            * 0 RECENT
            * OK [UIDVALIDITY 1733580000] Ok
            M3 OK [READ-WRITE] Ok
            * STATUS "INBOX" (UIDNEXT 9)
            M4 OK STATUS Completed.
            * SEARCH 8
            M5 OK SEARCH done.

            """,
        ])
        let status = try session.examine("INBOX")
        #expect(status == MailboxStatus(uidValidity: UIDValidity(1_733_580_000), uidNext: UID(9), exists: 3))
        #expect(try session.searchUIDs("INBOX", after: UID(8)) == [])
        #expect(streams()[0].writtenText.hasSuffix("""
            M3 SELECT "INBOX"\r
            M4 STATUS "INBOX" (UIDNEXT)\r
            M5 UID SEARCH UID 9:*\r

            """))
    }
}
