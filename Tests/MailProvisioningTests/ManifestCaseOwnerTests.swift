import MailCore
import MailCrypto
import MailDomain
import MailStore
import MailTesting
import Testing
@testable import MailProvisioning

/// A group account's `aliases` and `case.priority`: what chooses the owner of a case when a message
/// reaches several group accounts.
@Suite struct ManifestCaseOwnerTests {
    static let supportLines = [
        "    aliases: [Help@Acme.test, orders@acme.test]",
        "    case: {create: true, assign_to: alice, priority: 7}",
    ]

    @Test func aliasesAndPriorityAreRead() throws {
        let manifest = try ManifestParser.parse(minimal(appending: Self.supportLines), environment: testEnvironment)
        let account = try #require(manifest.groupAccounts.first)
        #expect(account.aliases.map(\.address) == ["help@acme.test", "orders@acme.test"])
        #expect(account.caseRules.priority == 7)
        let plain = try #require(try ManifestParser.parse(minimal(), environment: testEnvironment).groupAccounts.first)
        #expect(plain.aliases.isEmpty)
        #expect(plain.caseRules.priority == 0)
    }

    static let cases: [ManifestErrorCase] = [
        .init(name: "priority that is no integer",
              yaml: minimal(appending: ["    case: {create: true, assign_to: alice, priority: high}"]),
              expected: ["group_accounts[0].case.priority: expected an integer (line 9)"]),
        .init(name: "priority out of range",
              yaml: minimal(appending: ["    case: {create: true, assign_to: alice, priority: 5000}"]),
              expected: ["group_accounts[0].case.priority: must be between -1000 and 1000 (line 9)"]),
        .init(name: "alias that is a user's address",
              yaml: minimal(appending: ["    aliases: [alice@acme.test]"]),
              expected: [#"group_accounts[0].aliases[0]: address "alice@acme.test" already belongs to user "alice" (line 9)"#]),
        .init(name: "alias that is another group account's address",
              yaml: minimal(appending: [
                  "    aliases: [help@acme.test]",
                  "  - {name: Sales, address: help@acme.test, imap: {host: 127.0.0.1, password: env:PW}}",
              ]),
              expected: [#"group_accounts[1].address: address "help@acme.test" already belongs to group account "Support" (line 10)"#]),
        .init(name: "alias listed twice",
              yaml: minimal(appending: ["    aliases: [help@acme.test, HELP@acme.test]"]),
              expected: [#"group_accounts[0].aliases[1]: duplicate address "help@acme.test", first defined on line 9 (line 9)"#]),
    ]

    @Test(arguments: cases)
    func reportsExactErrors(_ testCase: ManifestErrorCase) {
        #expect(errors(testCase.yaml).map(\.description) == testCase.expected)
    }

    /// `mailroom apply` stores them on the account, changes nothing when applied again, and one
    /// change when one of them changes.
    @Test func applyStoresAliasesAndPriority() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let slug = TestDatabase.uniqueSlug("case-owner")
        func manifest(priority: Int) throws -> Manifest {
            let yaml = minimal(replacing: [1: "tenant: \(slug)"], appending: [
                "    aliases: [Help@Acme.test, orders@acme.test]", "    case: {create: true, assign_to: alice, priority: \(priority)}",
            ])
            return try ManifestParser.parse(yaml, environment: testEnvironment)
        }
        let first = try await ManifestApplier(secrets: box).apply(try manifest(priority: 7), to: pool)
        let tenant = first.tenantID
        func stored() async throws -> [CaseOwner.Account] {
            try await pool.transaction(tenant: tenant) { try MailAccountQueries.mailAccountCaseOwners($0, tenant: tenant) }
        }
        let account = try #require(try await stored().first)
        #expect(account.address == "support@acme.test")
        #expect(account.aliases == ["help@acme.test", "orders@acme.test"])
        #expect(account.priority == 7)
        #expect(account.createsCases)
        #expect(try await ManifestApplier(secrets: box).apply(try manifest(priority: 7), to: pool).changes == 0)
        #expect(try await ManifestApplier(secrets: box).apply(try manifest(priority: -3), to: pool).changes == 1)
        #expect(try await stored().map(\.priority) == [-3])
    }
}
