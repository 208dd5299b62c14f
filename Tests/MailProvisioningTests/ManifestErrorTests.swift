import Testing
@testable import MailProvisioning

/// Each case: a manifest with one mistake → the exact errors (path, line, message), in document order.
@Suite struct ManifestErrorTests {
    typealias Case = ManifestErrorCase

    static let cases: [Case] = [
        Case(name: "unknown team in membership",
             yaml: minimal(replacing: [4: "  - {username: alice, teams: {suport: agent}}"]),
             expected: [#"users[0].teams: unknown team "suport" (line 4)"#]),
        Case(name: "misspelt key gets a hint and the required key is missing",
             yaml: minimal(replacing: [8: "    imap: {host: 127.0.0.1, pasword: env:PW}"]),
             expected: [
                 #"group_accounts[0].imap.pasword: unknown key (did you mean "password"?) (line 8)"#,
                 "group_accounts[0].imap.password: required (line 8)",
             ]),
        Case(name: "unknown remote_images setting",
             yaml: minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {remote_images: sometimes}"]),
             expected: ["tenant.settings.remote_images: expected one of allow, block (line 3)"]),
        Case(name: "oauth_send_wait that is no duration",
             yaml: minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {oauth_send_wait: forever}"]),
             expected: ["tenant.settings.oauth_send_wait: invalid duration (use e.g. 30s, 5m, 1h) (line 3)"]),
        Case(name: "oauth_send_wait longer than 30 days",
             yaml: minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {oauth_send_wait: 31d}"]),
             expected: ["tenant.settings.oauth_send_wait: must be at most 720h (line 3)"]),
        Case(name: "oauth_send_wait shorter than a minute",
             yaml: minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {oauth_send_wait: 30s}"]),
             expected: ["tenant.settings.oauth_send_wait: must be at least 1m (line 3)"]),
        Case(name: "event_retention shorter than an hour",
             yaml: minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {event_retention: 10m}"]),
             expected: ["tenant.settings.event_retention: must be at least 1h (line 3)"]),
        Case(name: "soft_bounce_limit out of range",
             yaml: minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {soft_bounce_limit: 0}"]),
             expected: ["tenant.settings.soft_bounce_limit: must be between 1 and 100 (line 3)"]),
        Case(name: "soft_bounce_window that is no duration",
             yaml: minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {soft_bounce_window: weekly}"]),
             expected: ["tenant.settings.soft_bounce_window: invalid duration (use e.g. 30s, 5m, 1h) (line 3)"]),
        Case(name: "events that is no boolean",
             yaml: minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {events: maybe}"]),
             expected: ["tenant.settings.events: expected true or false (line 3)"]),
        Case(name: "unknown top-level key without a near match",
             yaml: minimal(appending: ["mailboxes: []"]),
             expected: ["mailboxes: unknown key (line 9)"]),
        Case(name: "position the team does not have",
             yaml: minimal(replacing: [4: "  - {username: alice, teams: {support: boss}}"]),
             expected: [#"users[0].teams.support: team "support" has no position "boss" (line 4)"#]),
        Case(name: "unknown role",
             yaml: minimal(replacing: [4: "  - {username: alice, roles: [agentz]}"]),
             expected: [#"users[0].roles: unknown role "agentz" (line 4)"#]),
        Case(name: "duplicate team",
             yaml: minimal(replacing: [2: "teams:\n  - {name: support, positions: [agent]}\n  - name: support"]),
             expected: [#"teams[1].name: duplicate team "support", first defined on line 3 (line 4)"#]),
        Case(name: "invalid email address",
             yaml: minimal(replacing: [4: "  - {username: alice, emails: [alice@]}"]),
             expected: [#"users[0].emails[0]: invalid email address "alice@" (line 4)"#]),
        Case(name: "address shared by a user and a group account",
             yaml: minimal(replacing: [7: "    address: Alice@acme.test"]),
             expected: [#"group_accounts[0].address: address "alice@acme.test" already belongs to user "alice" (line 7)"#]),
        Case(name: "poll interval below the minimum",
             yaml: minimal(appending: ["    poll_interval: 5s"]),
             expected: ["group_accounts[0].poll_interval: must be at least 10s (line 9)"]),
        Case(name: "malformed duration and size",
             yaml: minimal(appending: ["    poll_interval: 30 seconds", "    max_message_size: 10 MBs"]),
             expected: [
                 "group_accounts[0].poll_interval: invalid duration (use e.g. 30s, 5m, 1h) (line 9)",
                 "group_accounts[0].max_message_size: invalid size (use e.g. 512KB, 10MB or a number of bytes) (line 10)",
             ]),
        Case(name: "round robin without a team",
             yaml: minimal(appending: ["    case: {create: true, distribution: round_robin}"]),
             expected: ["group_accounts[0].case.team: required when distribution is round_robin (line 9)"]),
        Case(name: "direct distribution without assign_to",
             yaml: minimal(appending: ["    case:", "      create: true"]),
             expected: ["group_accounts[0].case.assign_to: required when distribution is direct (line 10)"]),
        Case(name: "assign_to an unknown user",
             yaml: minimal(appending: ["    case: {create: true, assign_to: alicia}"]),
             expected: [#"group_accounts[0].case.assign_to: unknown user "alicia" (line 9)"#]),
        Case(name: "round robin over a position nobody active holds",
             yaml: minimal(replacing: [2: "teams: [{name: support, positions: [agent, lead]}]"],
                           appending: ["    case: {create: true, distribution: less_busy, team: support, position: lead}"]),
             expected: [#"group_accounts[0].case.team: team "support" has no active user with position "lead" to distribute to (line 9)"#]),
        Case(name: "contact of an unknown account",
             yaml: minimal(appending: ["records:", "  contacts:", "    - {name: Peter, account: Initec}"]),
             expected: [#"records.contacts[0].account: unknown account "Initec" (line 11)"#]),
        Case(name: "missing environment variable names the key, not the value",
             yaml: minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: env:NOPE}"]),
             expected: ["group_accounts[0].imap.password: environment variable NOPE is not set (line 8)"]),
        Case(name: "plain text to a remote host",
             yaml: minimal(replacing: [8: "    imap: {host: mail.example.com, security: none, password: x}"]),
             expected: ["group_accounts[0].imap.security: none sends the password in clear text: clear-text login, not in MAILROOM_INSECURE_HOSTS (line 8)"]),
        Case(name: "store_sent without a sent folder",
             yaml: minimal(appending: ["    smtp: {host: 127.0.0.1, password: x, store_sent: true}"]),
             expected: ["group_accounts[0].smtp.store_sent: needs imap.sent_folder (line 9)"]),
        Case(name: "SMTP connections out of range",
             yaml: minimal(appending: ["    smtp: {host: 127.0.0.1, password: x, max_connections: 0}"]),
             expected: ["group_accounts[0].smtp.max_connections: must be between 1 and 20 (line 9)"]),
        Case(name: "SMTP connections that are no integer",
             yaml: minimal(appending: ["    smtp: {host: 127.0.0.1, password: x, max_connections: many}"]),
             expected: ["group_accounts[0].smtp.max_connections: expected an integer (line 9)"]),
        Case(name: "unknown enumeration value and yes for a boolean",
             yaml: minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: x, security: ssl, verify_tls: yes}"]),
             expected: [
                 "group_accounts[0].imap.security: expected one of none, starttls, tls (line 8)",
                 "group_accounts[0].imap.verify_tls: expected true or false (line 8)",
             ]),
        Case(name: "idle that is no boolean",
             yaml: minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: x, idle: sometimes}"]),
             expected: ["group_accounts[0].imap.idle: expected true or false (line 8)"]),
        Case(name: "auto reply placeholders",
             yaml: minimal(appending: ["    auto_reply: {enabled: true, subject: \"{{subjet}} #{{case.number}}\"}"]),
             expected: [
                 "group_accounts[0].auto_reply.body: required when auto_reply is enabled (line 9)",
                 #"group_accounts[0].auto_reply.subject: unknown placeholder "{{subjet}}" (known: {{subject}}, {{case.number}}, {{case.name}}, {{from.name}}, {{from.address}}) (line 9)"#,
                 #"group_accounts[0].auto_reply.subject: "{{case.number}}" needs case.create: true (line 9)"#,
             ]),
        Case(name: "storm breaker limits out of range, unknown keys and values",
             yaml: minimal(appending: ["    case: {sender_limit: {cases: 0, reopens: lots, window: 30s, per: sender}}"]),
             expected: [
                 "group_accounts[0].case.sender_limit.per: unknown key (line 9)",
                 "group_accounts[0].case.sender_limit.cases: must be between 1 and 10000 (line 9)",
                 "group_accounts[0].case.sender_limit.reopens: expected an integer (line 9)",
                 "group_accounts[0].case.sender_limit.window: must be at least 1m (line 9)",
             ]),
        Case(name: "storm breaker window too long",
             yaml: minimal(appending: ["    case: {sender_limit: {window: 31d}}"]),
             expected: ["group_accounts[0].case.sender_limit.window: must be at most 720h (line 9)"]),
        Case(name: "reopen into a closed status",
             yaml: minimal(appending: ["    case: {reopen: {enabled: true, status: Closed}}"]),
             expected: [#"group_accounts[0].case.reopen.status: "Closed" is a closed status (line 9)"#]),
        Case(name: "assign_to an inactive user",
             yaml: minimal(replacing: [4: "  - {username: alice, active: false}"],
                           appending: ["    case: {create: true, assign_to: alice}"]),
             expected: [#"group_accounts[0].case.assign_to: user "alice" is inactive (line 9)"#]),
        Case(name: "missing tenant and wrong shapes",
             yaml: "teams: support\nusers: [{username: Alice}]\ngroup_accounts: [{name: X}]",
             expected: [
                 "tenant: required (line 1)",
                 "teams: expected a list (line 1)",
                 #"users[0].username: invalid username "Alice" (use lowercase letters, digits, ".", "_", "-") (line 2)"#,
                 "group_accounts[0].address: required (line 3)",
                 "group_accounts[0].imap: required (line 3)",
             ]),
        Case(name: "duplicate YAML key",
             yaml: "tenant: acme\ntenant: globex",
             expected: [#"duplicate key "tenant" (line 1)"#]),
        Case(name: "YAML syntax error",
             yaml: "tenant: acme\nteams: [support\n",
             expected: ["invalid YAML: while parsing a flow sequence (from line 2): did not find expected ',' or ']' (line 3)"]),
        Case(name: "unsupported version and invalid slug",
             yaml: minimal(replacing: [1: "version: 2\ntenant: {slug: Acme Inc}"]),
             expected: [
                 "version: unsupported manifest version 2 (only 1 exists) (line 1)",
                 #"tenant.slug: invalid tenant slug "Acme Inc" (use lowercase letters, digits and "-", starting with a letter) (line 2)"#,
             ]),
        Case(name: "opportunity needs an account; contacts must exist",
             yaml: minimal(appending: ["records:", "  opportunities: [{name: Deal, contacts: [Nobody]}]"]),
             expected: [
                 "records.opportunities[0].account: required (line 10)",
                 #"records.opportunities[0].contacts: unknown contact "Nobody" (line 10)"#,
             ]),
    ]

    @Test(arguments: cases)
    func reportsExactErrors(_ testCase: Case) {
        #expect(errors(testCase.yaml).map(\.description) == testCase.expected)
    }

    @Test func parseThrowsTheFirstErrorWithItsParts() throws {
        let yaml = minimal(replacing: [4: "  - {username: alice, teams: {suport: agent}}"],
                           appending: ["    poll_interval: 1s"])
        let error = try #require(throws: ManifestError.self) {
            try ManifestParser.parse(yaml, environment: testEnvironment)
        }
        #expect(error.path == "users[0].teams")
        #expect(error.line == 4)
        #expect(error.message == #"unknown team "suport""#)
        #expect(error.description == #"users[0].teams: unknown team "suport" (line 4)"#)
    }

    /// Clear-text login is the outbound policy's decision: loopback is not special, a name that only
    /// looks like loopback is not either, and the operator's list allows what it names.
    @Test func clearTextLoginNeedsTheInsecureHostsList() throws {
        let refused = "none sends the password in clear text: clear-text login, not in MAILROOM_INSECURE_HOSTS (line 8)"
        for host in ["127.0.0.1", "localhost", "127.evil.test", "::1"] {
            let yaml = minimal(replacing: [8: "    imap: {host: \"\(host)\", security: none, password: x}"])
            #expect(errors(yaml).map(\.description) == ["group_accounts[0].imap.security: " + refused], "\(host)")
        }
        var environment = testEnvironment
        environment["MAILROOM_INSECURE_HOSTS"] = "127.0.0.0/8,localhost"
        for host in ["127.0.0.1", "127.1", "localhost"] {
            let yaml = minimal(replacing: [8: "    imap: {host: \"\(host)\", security: none, password: x}"])
            _ = try ManifestParser.parse(yaml, environment: environment)
        }
        let evil = minimal(replacing: [8: "    imap: {host: 127.evil.test, security: none, password: x}"])
        #expect(errors(evil, environment: environment).map(\.description) == ["group_accounts[0].imap.security: " + refused])
        environment["MAILROOM_INSECURE_HOSTS"] = "127.0.0.1/8"
        #expect(errors(minimal(replacing: [8: "    imap: {host: 127.0.0.1, security: none, password: x}"]),
                       environment: environment).map(\.description)
                == [#"group_accounts[0].imap.security: none needs a valid operator setting: MAILROOM_INSECURE_HOSTS: "127.0.0.1/8" has host bits set (did you mean 127.0.0.0/8?) (line 8)"#])
    }

    @Test func emptyDocument() {
        #expect(errors("").map(\.description) == ["manifest is empty"])
        #expect(errors("# only a comment\n").map(\.description) == ["manifest is empty"])
        #expect(errors("- a list").map(\.description) == ["expected a mapping (line 1)"])
    }
}
