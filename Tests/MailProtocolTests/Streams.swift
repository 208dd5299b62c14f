/// Test streams are written with "\n" line ends for readability; servers send CRLF.
func crlf(_ text: String) -> [UInt8] {
    Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
}

/// What libcurl's header callback received on a fresh connection before the first command's own
/// responses: greeting, CAPABILITY, LOGIN (Dovecot 2.3).
let loginPreamble = """
    * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.
    * CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN
    A001 OK Pre-login capabilities listed, post-login capabilities have more.
    * CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT UIDPLUS CONDSTORE QRESYNC ESEARCH LITERAL+ MOVE
    A002 OK Logged in

    """

/// libcurl's own read-write SELECT, sent before a custom command on a mailbox URL.
let selectPreamble = """
    * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.
    * 3 EXISTS
    * 0 RECENT
    * OK [UIDVALIDITY 1796089244] UIDs valid
    * OK [UIDNEXT 4] Predicted next UID
    A003 OK [READ-WRITE] Select completed (0.002 + 0.000 + 0.001 secs).

    """
