import MailProtocol

extension IMAPClient {
    /// Reads the greeting (RFC 3501 §7.1): true for PREAUTH (already logged in). A `* BYE`
    /// greeting (the server refuses this client) throws `.connectionLost` with its text.
    func readGreeting() throws(TransportError) -> Bool {
        let greeting = try readResponse()
        switch (greeting.response.tag, greeting.response.condition) {
        case (.untagged, .ok?): return false
        case (.untagged, .preauth?): return true
        case (.untagged, .bye?):
            throw TransportError(.connectionLost, detail: scrub("the server refused the connection: \(greeting.response.text.prefix(200))"))
        default:
            throw TransportError(.protocolError, detail: "the server's greeting is not OK, PREAUTH or BYE")
        }
    }

    /// `STARTTLS` (RFC 3501 §6.2.1), then the TLS handshake. Refuses to go on (`.tlsFailed`) when
    /// the server does not offer it, and when it sent anything after its OK before the handshake
    /// (RFC 2595 §3.1: such bytes would be a plaintext injection). Capabilities learnt before are
    /// forgotten.
    func startTLS() throws(TransportError) {
        guard try knownCapabilities().contains("STARTTLS") else {
            throw TransportError(.tlsFailed, detail: "STARTTLS is required but the server does not offer it")
        }
        try execute(IMAPCommandLine("STARTTLS"))
        guard inputDrained else {
            throw TransportError(.tlsFailed, detail: "the server sent data after its STARTTLS answer, before the handshake")
        }
        try stream.startTLS()
        capabilities = nil
    }

    /// Logs in with a password or an OAuth access token and learns the capabilities of the
    /// authenticated state.
    ///
    /// Password: SASL PLAIN (`AUTHENTICATE PLAIN`, RFC 4616; the initial response on the command
    /// line with SASL-IR, RFC 4959), else `LOGIN` unless the server says `LOGINDISABLED`. OAuth:
    /// OAUTHBEARER (RFC 7628) if offered, else XOAUTH2. A refusal throws `.authenticationFailed`
    /// with the server's text, never the secret.
    /// `mechanisms`, when set, limits the SASL mechanisms used to these (tests force each path).
    func login(username: String, secret: String, method: LoginMethod, mechanisms: Set<String>? = nil) throws(TransportError) {
        var offered = try knownCapabilities()
        if let mechanisms {
            offered = offered.filter { !$0.hasPrefix("AUTH=") || mechanisms.contains(String($0.dropFirst(5))) }
        }
        capabilities = nil  // RFC 3501 §6.2.3: they may change with login
        switch method {
        case .password:
            if offered.contains("AUTH=PLAIN") {
                try authenticate("PLAIN", IMAPSASL.plain(username: username, password: secret), offered: offered, abort: "*")
            } else if !offered.contains("LOGINDISABLED") {
                let command = IMAPCommandLine([.text("LOGIN ")] + Self.astring(username) + [.text(" ")] + Self.astring(secret))
                do {
                    try execute(command, describe: "LOGIN")
                } catch where error.code == .commandFailed {
                    throw TransportError(.authenticationFailed, detail: error.detail)
                }
            } else {
                throw TransportError(.authenticationFailed, detail: "the server offers neither AUTH=PLAIN nor LOGIN (LOGINDISABLED)")
            }
        case .oauth2:
            if offered.contains("AUTH=OAUTHBEARER") {
                try authenticate("OAUTHBEARER", IMAPSASL.oauthBearer(username: username, token: secret), offered: offered,
                                 abort: IMAPSASL.oauthBearerAbort)
            } else if offered.contains("AUTH=XOAUTH2") {
                try authenticate("XOAUTH2", IMAPSASL.xoauth2(username: username, token: secret), offered: offered, abort: "")
            } else {
                throw TransportError(.authenticationFailed, detail: "the server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2")
            }
        }
    }

    /// `AUTHENTICATE mechanism` with one initial response (RFC 3501 §6.2.2). A challenge after it
    /// is an error report (OAUTHBEARER's JSON, XOAUTH2's): the client answers `abort` and the
    /// server then completes with NO.
    private func authenticate(_ mechanism: String, _ initial: String, offered: Set<String>, abort: String) throws(TransportError) {
        let tag = nextTag()
        var pendingInitial: String? = initial
        if offered.contains("SASL-IR") {
            try write(Array("\(tag) AUTHENTICATE \(mechanism) \(initial.isEmpty ? "=" : initial)\r\n".utf8))
            pendingInitial = nil
        } else {
            try write(Array("\(tag) AUTHENTICATE \(mechanism)\r\n".utf8))
        }
        while true {
            let received = try readResponse()
            switch received.response.tag {
            case .continuation:
                if let initial = pendingInitial {
                    try write(Array("\(initial)\r\n".utf8))
                    pendingInitial = nil
                } else {
                    try write(Array("\(abort)\r\n".utf8))
                }
            case .tagged(let completed) where completed == tag:
                do {
                    try check(received.response, command: "AUTHENTICATE \(mechanism)")
                } catch {
                    throw TransportError(.authenticationFailed, detail: error.detail)
                }
                return
            case .tagged(let other):
                throw TransportError(.protocolError, detail: "AUTHENTICATE: completion for unknown tag \(other)")
            case .untagged:
                continue
            }
        }
    }

    /// An `astring` argument: quoted when it is printable ASCII, else a literal (RFC 3501 §4.3).
    static func astring(_ text: String) -> [IMAPCommandLine.Part] {
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) {
            return [.text(IMAPCommand.quoted(text))]
        }
        return [.literal(Array(text.utf8))]
    }
}
