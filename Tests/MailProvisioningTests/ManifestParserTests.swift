import MailCore
import Testing
@testable import MailProvisioning

@Suite struct ManifestParserTests {
    @Test func sampleParsesToExpectedValues() throws {
        let manifest = try ManifestParser.parse(acmeSample, environment: testEnvironment)
        #expect(manifest.version == 1)
        #expect(manifest.tenant == Manifest.Tenant(slug: "acme", name: "acme", settings: Manifest.Settings()))
        #expect(manifest.teams == [Manifest.Team(name: "support", positions: ["agent", "lead"])])
        #expect(manifest.roles == [Manifest.Role(name: "agents", groupEmailAccountPermission: .team)])

        #expect(manifest.users.map(\.username) == ["alice", "bob", "carol", "root"])
        let alice = try #require(manifest.user(named: "alice"))
        #expect(alice.name == "Alice Archer")
        #expect(alice.primaryEmail?.address == "alice@acme.test")
        #expect(alice.teams == [Manifest.Membership(team: "support", position: "agent")])
        #expect(alice.roles == ["agents"])
        #expect(alice.active && !alice.admin)
        let carol = try #require(manifest.user(named: "carol"))
        #expect(!carol.active)
        #expect(carol.membership(in: "support")?.position == "lead")
        let root = try #require(manifest.user(named: "root"))
        #expect(root.admin && root.teams.isEmpty && root.roles.isEmpty)

        #expect(manifest.records.accounts.map(\.name) == ["Initech"])
        #expect(manifest.records.contacts.first?.account == "Initech")
        #expect(manifest.records.contacts.first?.emails.map(\.address) == ["peter@initech.test", "pg@home.test"])
        #expect(manifest.records.leads.map(\.name) == ["Samir Nagheenanajar"])
        #expect(manifest.records.opportunities.isEmpty)

        let support = try #require(manifest.groupAccount(named: "Support"))
        #expect(support.address.address == "support@acme.test")
        #expect(support.displayName == "Support")
        #expect(support.active)
        #expect(support.imap == Manifest.IMAP(
            host: "127.0.0.1", port: 14143, security: .starttls, verifyTLS: false, username: "support@acme.test",
            password: Secret("acme-imap-pass"), folders: ["INBOX"],
            fetchSince: Manifest.CalendarDate(iso: "2026-01-01"), keepUnread: false, sentFolder: nil))
        #expect(support.imap.fetchSince?.imapDate == "1-Jan-2026")
        #expect(support.smtp == Manifest.SMTP(
            host: "127.0.0.1", port: 14587, security: .starttls, verifyTLS: false, username: "support@acme.test",
            password: Secret("acme-imap-pass"), auth: .plain, shared: true, storeSent: false))
        #expect(support.teams == ["support"])
        #expect(support.pollInterval == .seconds(30))
        #expect(support.maxMessageSize == 10 * 1024 * 1024)
        #expect(support.caseRules == Manifest.CaseRules(
            create: true, distribution: .roundRobin, team: "support", position: "agent", assignTo: "alice"))
        #expect(support.autoReply.enabled)
        #expect(support.autoReply.subject == "Re: {{subject}} [#{{case.number}}]")
        #expect(support.autoReply.body == "We got your message.")
        #expect(support.autoReply.fromAddress == support.address)
        #expect(support.autoReply.fromName == "Support")
        #expect(support.autoReply.limit == Manifest.Limit(count: 2, window: .seconds(7200)))
    }

    @Test func stormBreakerLimitsAreReadWithOdoosDefaults() throws {
        let defaults = try ManifestParser.parse(minimal(), environment: testEnvironment)
        #expect(defaults.groupAccounts[0].caseRules.senderLimit == Manifest.SenderLimit(cases: 20, reopens: 20, window: .seconds(7200)))
        let set = try ManifestParser.parse(minimal(appending: ["    case: {sender_limit: {cases: 3, reopens: 1, window: 10m}}"]),
                                           environment: testEnvironment)
        #expect(set.groupAccounts[0].caseRules.senderLimit == Manifest.SenderLimit(cases: 3, reopens: 1, window: .seconds(600)))
        let partial = try ManifestParser.parse(minimal(appending: ["    case: {sender_limit: {reopens: 5}}"]), environment: testEnvironment)
        #expect(partial.groupAccounts[0].caseRules.senderLimit == Manifest.SenderLimit(cases: 20, reopens: 5, window: .seconds(7200)))
    }

    @Test func remoteImagesSettingIsRead() throws {
        let manifest = try ManifestParser.parse(
            minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {remote_images: block}"]), environment: testEnvironment)
        #expect(manifest.tenant.settings.remoteImages == .block)
    }

    @Test func oauthSendWaitSettingIsRead() throws {
        let manifest = try ManifestParser.parse(
            minimal(replacing: [1: "tenant:\n  slug: acme\n  settings: {oauth_send_wait: 2h30m}"]), environment: testEnvironment)
        #expect(manifest.tenant.settings.oauthSendWait == .seconds(9000))
        #expect(try ManifestParser.parse(minimal(), environment: testEnvironment).tenant.settings.oauthSendWait == .seconds(86400))
    }

    @Test func defaultsAreFilledIn() throws {
        let manifest = try ManifestParser.parse(minimal(), environment: testEnvironment)
        #expect(manifest.tenant.settings == Manifest.Settings(
            closedCaseStatuses: ["Closed", "Rejected", "Duplicate"], businessToConsumer: false, maxPersonalAccounts: 2,
            remoteImages: .allow))
        let alice = try #require(manifest.users.first)
        #expect(alice.name == "alice")
        #expect(alice.active && !alice.admin)
        let account = try #require(manifest.groupAccounts.first)
        #expect(account.displayName == "Support")
        #expect(account.replyTo == nil)
        #expect(account.active)
        #expect(account.imap.port == 993)
        #expect(account.imap.security == .tls)
        #expect(account.imap.verifyTLS)
        #expect(account.imap.username == "support@acme.test")
        #expect(account.imap.folders == ["INBOX"])
        #expect(account.imap.fetchSince == nil)
        #expect(!account.imap.keepUnread)
        #expect(account.imap.sentFolder == nil)
        #expect(account.smtp == nil)
        #expect(account.teams.isEmpty)
        #expect(account.pollInterval == .seconds(60))
        #expect(account.maxMessageSize == 25 * 1024 * 1024)
        #expect(account.caseRules == Manifest.CaseRules(
            create: false, distribution: .direct, team: nil, position: nil, assignTo: nil, addAllTeamUsers: true,
            reopen: Manifest.Reopen(enabled: false, status: "Assigned"), numberTrust: .related))
        #expect(account.autoReply == Manifest.AutoReply(
            enabled: false, subject: "Re: {{subject}}", body: "", fromAddress: account.address, fromName: "Support",
            replyTo: nil, limit: Manifest.Limit(count: 2, window: .seconds(7200))))
    }

    @Test func portsDefaultBySecurity() throws {
        let yaml = minimal(replacing: [8: "    imap: {host: 127.0.0.1, password: x, security: starttls}"],
                           appending: ["    smtp: {host: 127.0.0.1, password: y, security: tls}"])
        let account = try #require(try ManifestParser.parse(yaml, environment: [:]).groupAccounts.first)
        #expect(account.imap.port == 143)
        #expect(account.smtp?.port == 465)
        #expect(account.smtp?.username == "support@acme.test")
        let none = minimal(appending: ["    smtp: {host: localhost, security: none, auth: none}"])
        let smtp = try #require(try ManifestParser.parse(none, environment: testEnvironment).groupAccounts.first?.smtp)
        #expect(smtp.port == 587)
        #expect(smtp.password == nil)
    }

    @Test func environmentReferencesResolveAndInlineSecretsStayAsWritten() throws {
        let yaml = minimal(appending: ["    smtp: {host: 127.0.0.1, password: \"inline pass\"}"])
        let account = try #require(try ManifestParser.parse(yaml, environment: ["PW": "from-env"]).groupAccounts.first)
        #expect(account.imap.password == Secret("from-env"))
        #expect(account.smtp?.password == Secret("inline pass"))
        // A manifest printed by accident shows no secret.
        #expect(!"\(account)".contains("from-env"))
        #expect(!"\(account)".contains("inline pass"))
    }

    @Test func emailsAreLowercasedAndKeepTheirSpelling() throws {
        let yaml = minimal(replacing: [4: "  - {username: alice, emails: [Alice.Archer@ACME.test, alice@acme.test]}"])
        let alice = try #require(try ManifestParser.parse(yaml, environment: testEnvironment).users.first)
        #expect(alice.emails.map(\.address) == ["alice.archer@acme.test", "alice@acme.test"])
        #expect(alice.emails.first?.original == "Alice.Archer@ACME.test")
    }

    @Test func teamMembershipAcceptsNullPositionsAndListForm() throws {
        let yaml = minimal(replacing: [
            2: "teams: [{name: support, positions: [agent]}, sales]",
            4: "  - {username: alice, teams: {support: ~, sales: null}}",
        ])
        let alice = try #require(try ManifestParser.parse(yaml, environment: testEnvironment).users.first)
        #expect(alice.teams == [Manifest.Membership(team: "support"), Manifest.Membership(team: "sales")])
        let list = minimal(replacing: [4: "  - {username: alice, teams: [support]}"])
        #expect(try ManifestParser.parse(list, environment: testEnvironment).users.first?.teams == [
            Manifest.Membership(team: "support"),
        ])
    }

    @Test func anchorsAndAliasesShareSettings() throws {
        let yaml = minimal(
            replacing: [8: "    imap: &imap {host: 127.0.0.1, port: 14143, security: starttls, password: env:PW}"],
            appending: ["  - name: Sales", "    address: sales@acme.test", "    imap: *imap"])
        let accounts = try ManifestParser.parse(yaml, environment: testEnvironment).groupAccounts
        #expect(accounts.map(\.name) == ["Support", "Sales"])
        #expect(accounts[1].imap.port == 14143)
        // Defaults that depend on the account are filled per account, not copied.
        #expect(accounts[1].imap.username == "sales@acme.test")
        #expect(accounts[1].imap.password == accounts[0].imap.password)
    }

    @Test func examplesParse() throws {
        let acme = try ManifestParser.parse(try example("acme.yaml"), environment: testEnvironment)
        #expect(acme == (try ManifestParser.parse(acmeSample, environment: testEnvironment)))

        let env = ["GLOBEX_CARE_PASSWORD": "care", "GLOBEX_SALES_PASSWORD": "sales"]
        let globex = try ManifestParser.parse(try example("globex.yaml"), environment: env)
        #expect(globex.tenant.slug == "globex")
        #expect(globex.tenant.name == "Globex Corporation")
        #expect(globex.tenant.settings.maxPersonalAccounts == 3)
        #expect(globex.roles.map(\.groupEmailAccountPermission) == [.team, .all, .no])
        #expect(globex.user(named: "hank")?.emails.map(\.address) == ["hank@globex.test", "hank.scorpio@globex.test"])
        #expect(globex.records.opportunities == [
            Manifest.Opportunity(name: "Reactor maintenance 2026", account: "Springfield Power",
                                 contacts: ["Waylon Smithers"]),
        ])
        let care = try #require(globex.groupAccount(named: "Customer Care"))
        #expect(care.displayName == "Globex Customer Care")
        #expect(care.caseRules.distribution == .lessBusy)
        #expect(care.caseRules.reopen == Manifest.Reopen(enabled: true, status: "Assigned"))
        #expect(care.smtp?.storeSent == true)
        #expect(care.smtp?.maxConnections == 2)
        #expect(care.imap.sentFolder == "Sent")
        #expect(care.autoReply.body.hasPrefix("Hello {{from.name}},\n"))
        #expect(care.autoReply.limit == Manifest.Limit(count: 3, window: .seconds(3600)))
        let sales = try #require(globex.groupAccount(named: "Sales"))
        #expect(sales.smtp == nil)
        // Not set: the default.
        #expect(acme.groupAccounts.compactMap(\.smtp).map(\.maxConnections) == [Manifest.SMTP.defaultMaxConnections])
        #expect(sales.pollInterval == .seconds(60))
        #expect(sales.caseRules.assignTo == "lenny")
    }
}
