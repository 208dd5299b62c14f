import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// Who may write mail accounts, their folders and team links, and email filters, enforced by
/// Postgres (migrations/0007_self_service.sql) for the acting user in `mailroom.user_id`: the whole
/// matrix of users × rows × insert / update / delete, the operator context, and other tenants.
@Suite struct SelfServiceTests {
    enum Op: String, CaseIterable { case insert, update, delete }
    static func verb(_ op: Op) -> String { ["insert": "create", "update": "change", "delete": "delete"][op.rawValue]! }

    /// Acting users: `admin` (active admin), `alice` (active), `dave` (inactive), `exadmin` (inactive
    /// admin). Each owns one personal account `<name>-own` (folder INBOX, account filter
    /// `<name>-own-filter`) and a user filter `<name>-filter`; so does `bob`, "someone else".
    /// `Support` is a group account (INBOX, a team link, filter `support-filter`); `global-filter` is global.
    static let actors = ["admin", "alice", "dave", "exadmin"]

    struct Fixture: Sendable {
        let tenant: TenantID
        let users: [String: Int64]
        let accounts: [String: Int64]
        let team: Int64
        func isAllowed(_ actor: String, owner: String?) -> Bool {
            switch actor {
            case "admin": true
            case "alice": owner == "alice"
            default: false   // inactive, admin or not
            }
        }
        /// The reason a refusal gives when `actor` writes a row of `owner` (nil: shared).
        func reason(_ actor: String, owner: String?, shared: String, personal: String) -> String {
            if actor == "dave" || actor == "exadmin" { return "the user is inactive" }
            return owner == nil ? shared : personal
        }
    }

    static func makeFixture(_ pool: PostgresPool, prefix: String = "self") async throws -> Fixture {
        let (t, _) = try await TestDatabase.makeTenant(prefix, in: pool)
        return try await pool.transaction(tenant: t) { conn in
            func id(_ sql: SQL) throws -> Int64 { try conn.query(sql).one().decode(at: 0) }
            var users: [String: Int64] = [:], accounts: [String: Int64] = [:]
            for (name, admin, active) in [("admin", true, true), ("alice", false, true), ("bob", false, true),
                                          ("dave", false, false), ("exadmin", true, false)] {
                let u = try id("""
                    INSERT INTO app_user (tenant_id, username, name, is_admin, is_active)
                    VALUES (\(t), \(name), \(name), \(admin), \(active)) RETURNING id
                    """)
                users[name] = u
                accounts[name] = try id("""
                    INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address)
                    VALUES (\(t), 'personal', \(u), \(name + "-own"), \(name + "@acme.test")) RETURNING id
                    """)
                try conn.execute("""
                    INSERT INTO email_filter (tenant_id, name, scope, user_id, subject_pattern, action)
                    VALUES (\(t), \(name + "-filter"), 'user', \(u), '*offer*', 'mark_read')
                    """)
                try conn.execute("""
                    INSERT INTO email_filter (tenant_id, name, scope, account_id, from_pattern, action)
                    VALUES (\(t), \(name + "-own-filter"), 'account', \(accounts[name]!), '*@spam.test', 'skip')
                    """)
            }
            accounts["group"] = try id("""
                INSERT INTO mail_account (tenant_id, kind, name, address) VALUES (\(t), 'group', 'Support', 'support@acme.test') RETURNING id
                """)
            try conn.execute("""
                INSERT INTO email_filter (tenant_id, name, scope, account_id, from_pattern, action)
                VALUES (\(t), 'support-filter', 'account', \(accounts["group"]!), '*@spam.test', 'skip')
                """)
            try conn.execute("""
                INSERT INTO email_filter (tenant_id, name, scope, from_pattern, action) VALUES (\(t), 'global-filter', 'global', '*@spam.test', 'skip')
                """)
            for account in accounts.values {
                try conn.execute("INSERT INTO mail_folder (tenant_id, account_id, name) VALUES (\(t), \(account), 'INBOX')")
            }
            let team = try id("INSERT INTO team (tenant_id, name) VALUES (\(t), 'support') RETURNING id")
            try conn.execute("INSERT INTO mail_account_team (tenant_id, account_id, team_id) VALUES (\(t), \(accounts["group"]!), \(team))")
            return Fixture(tenant: t, users: users, accounts: accounts, team: team)
        }
    }

    /// Runs `statements` in one transaction as the host CRM does for `user` (nil: the operator
    /// context, no user set), then rolls back, so every attempt starts from the fixture. Returns the
    /// rows each statement affected, or the first error.
    static func attempt(_ pool: PostgresPool, tenant: TenantID, as user: Int64?, _ statements: [SQL]) async throws
        -> Result<[Int], PostgresError> {
        try await pool.withConnection { conn in
            // The statements a CRM runs: ids are integers, so writing them into the text is safe.
            var begin = "BEGIN; SET LOCAL mailroom.tenant_id = '\(tenant.rawValue)'"
            if let user { begin += "; SET LOCAL mailroom.user_id = '\(user)'" }
            try conn.executeScript(begin)
            defer { try? conn.executeScript("ROLLBACK") }
            var affected: [Int] = []
            do {
                for sql in statements { affected.append(try conn.execute(sql)) }
                return .success(affected)
            } catch let error as PostgresError {
                return .failure(error)
            }
        }
    }

    /// Expects `result` to be one affected row per statement (allowed) or a 42501 whose message
    /// contains `message` (refused).
    static func expect(_ result: Result<[Int], PostgresError>, allowed: Bool, message: String, _ label: String) {
        switch result {
        case .success(let rows):
            #expect(allowed, "allowed but should be refused: \(label)")
            #expect(rows.allSatisfy { $0 == 1 }, "\(label): rows \(rows)")
        case .failure(let error):
            #expect(!allowed, "refused but should be allowed: \(label): \(error.message)")
            if !allowed {
                #expect(error.sqlState == "42501", "\(label): \(error.message)")
                #expect(error.message.contains(message), "\(label): got \(error.message), expected \(message)")
            }
        }
    }

    @Test func accountsAndFolders() async throws {
        let pool = try await TestDatabase.pool()
        let f = try await Self.makeFixture(pool)
        let t = f.tenant
        var checked = 0
        for actor in Self.actors {
            let me = f.users[actor]!
            // own personal, someone else's personal, the group account
            for (target, owner) in [(actor, Optional(actor)), ("bob", "bob"), ("group", nil)] {
                let account = f.accounts[target]!
                let name = owner.map { "\($0)-own" } ?? "Support"
                let allowed = f.isAllowed(actor, owner: owner)
                let reason = f.reason(actor, owner: owner, shared: "only admins manage group accounts",
                                      personal: "a personal account is managed by its owner or an admin")
                for op in Op.allCases {
                    // The account itself.
                    let accountSQL: SQL
                    let accountName: String
                    switch op {
                    case .insert:
                        accountName = "new-\(target)"
                        let ownerID = owner.map { f.users[$0]! }
                        accountSQL = """
                            INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address)
                            VALUES (\(t), \(owner == nil ? "group" : "personal"), \(ownerID), \(accountName), 'new@acme.test')
                            """
                    case .update:
                        accountName = name
                        accountSQL = "UPDATE mail_account SET display_name = 'Changed', imap_host = '127.0.0.1' WHERE id = \(account)"
                    case .delete:
                        accountName = name
                        accountSQL = "DELETE FROM mail_account WHERE id = \(account)"
                    }
                    let accountResult = try await Self.attempt(pool, tenant: t, as: me, [accountSQL])
                    Self.expect(accountResult, allowed: allowed,
                                message: "user \(me) may not \(Self.verb(op)) mail account \"\(accountName)\" <", "\(actor) \(op) account \(target)")
                    if !allowed { Self.expectReason(accountResult, reason) }

                    // Its folders.
                    let folderSQL: SQL, folder: String
                    switch op {
                    case .insert:
                        folder = "Archive"
                        folderSQL = "INSERT INTO mail_folder (tenant_id, account_id, name, target) VALUES (\(t), \(account), 'Archive', 'archive')"
                    case .update:
                        folder = "INBOX"
                        folderSQL = "UPDATE mail_folder SET target = 'archive', is_active = false WHERE account_id = \(account)"
                    case .delete:
                        folder = "INBOX"
                        folderSQL = "DELETE FROM mail_folder WHERE account_id = \(account)"
                    }
                    let folderResult = try await Self.attempt(pool, tenant: t, as: me, [folderSQL])
                    Self.expect(folderResult, allowed: allowed,
                                message: "user \(me) may not \(Self.verb(op)) folder \"\(folder)\" of mail account \"\(name)\" <",
                                "\(actor) \(op) folder of \(target)")
                    if !allowed { Self.expectReason(folderResult, reason) }
                    checked += 1
                }
            }
        }
        #expect(checked == Self.actors.count * 3 * 3)

        // Team links decide who may send from a group account: admins only.
        let link: SQL = "DELETE FROM mail_account_team WHERE account_id = \(f.accounts["group"]!)"
        Self.expect(try await Self.attempt(pool, tenant: t, as: f.users["alice"]!, [link]), allowed: false,
                    message: "may not delete the team link of mail account \"Support\" <support@acme.test>: only admins manage group accounts", "alice unlinks")
        Self.expect(try await Self.attempt(pool, tenant: t, as: f.users["alice"]!, [
            "INSERT INTO mail_account_team (tenant_id, account_id, team_id) VALUES (\(t), \(f.accounts["bob"]!), \(f.team))",
        ]), allowed: false, message: "may not create the team link of mail account \"bob-own\"", "alice links bob's account")
        Self.expect(try await Self.attempt(pool, tenant: t, as: f.users["admin"]!, [link]), allowed: true, message: "", "admin unlinks")
    }

    @Test func filtersOfEveryScope() async throws {
        let pool = try await TestDatabase.pool()
        let f = try await Self.makeFixture(pool, prefix: "self-filter")
        let t = f.tenant
        var checked = 0
        for actor in Self.actors {
            let me = f.users[actor]!
            // (what, owner for the rule, existing filter, the scope columns of a new one, reasons)
            let targets: [(String, owner: String?, existing: String, scope: String, account: Int64?, user: Int64?, shared: String, personal: String)] = [
                ("global", nil, "global-filter", "global", nil, nil, "only admins manage global filters", ""),
                ("own user", actor, "\(actor)-filter", "user", nil, me, "", ""),
                ("other user", "bob", "bob-filter", "user", nil, f.users["bob"]!, "", "a user's filters are managed by that user or an admin"),
                ("own account", actor, "\(actor)-own-filter", "account", f.accounts[actor]!, nil, "", ""),
                ("other account", "bob", "bob-own-filter", "account", f.accounts["bob"]!, nil, "",
                 "filters of a personal account are managed by its owner or an admin"),
                ("group account", nil, "support-filter", "account", f.accounts["group"]!, nil, "only admins manage filters of group accounts", ""),
            ]
            for target in targets {
                let allowed = f.isAllowed(actor, owner: target.owner)
                let reason = f.reason(actor, owner: target.owner, shared: target.shared, personal: target.personal)
                for op in Op.allCases {
                    let name = op == .insert ? "new-\(target.0)" : target.existing
                    let sql: SQL = switch op {
                    case .insert: """
                        INSERT INTO email_filter (tenant_id, name, scope, account_id, user_id, subject_pattern, action)
                        VALUES (\(t), \(name), \(target.scope), \(target.account), \(target.user), '*news*', 'skip')
                        """
                    case .update: "UPDATE email_filter SET subject_pattern = '*changed*', position = 3 WHERE name = \(name)"
                    case .delete: "DELETE FROM email_filter WHERE name = \(name)"
                    }
                    let result = try await Self.attempt(pool, tenant: t, as: me, [sql])
                    Self.expect(result, allowed: allowed, message: "user \(me) may not \(Self.verb(op)) email filter \"\(name)\": ",
                                "\(actor) \(op) \(target.0) filter")
                    if !allowed { Self.expectReason(result, reason) }
                    checked += 1
                }
            }
        }
        #expect(checked == Self.actors.count * 6 * 3)
    }

    /// Nobody takes a row they may not write, nor gives one away; an admin may hand one over.
    @Test func updatesAreCheckedBeforeAndAfter() async throws {
        let pool = try await TestDatabase.pool()
        let f = try await Self.makeFixture(pool, prefix: "self-move")
        let t = f.tenant
        let alice = f.users["alice"]!, bob = f.users["bob"]!
        let refused: [(SQL, String)] = [
            ("UPDATE mail_account SET owner_user_id = \(bob) WHERE id = \(f.accounts["alice"]!)",
             "may not change mail account \"alice-own\" <alice@acme.test>: a personal account is managed by its owner or an admin"),
            ("UPDATE mail_account SET kind = 'group', owner_user_id = NULL WHERE id = \(f.accounts["alice"]!)",
             "may not change mail account \"alice-own\" <alice@acme.test>: only admins manage group accounts"),
            ("UPDATE mail_account SET owner_user_id = \(alice) WHERE id = \(f.accounts["bob"]!)",
             "may not change mail account \"bob-own\" <bob@acme.test>: a personal account is managed by its owner or an admin"),
            ("UPDATE mail_folder SET account_id = \(f.accounts["group"]!) WHERE account_id = \(f.accounts["alice"]!)",
             "of mail account \"Support\" <support@acme.test>: only admins manage group accounts"),
            ("UPDATE email_filter SET scope = 'global', user_id = NULL WHERE name = 'alice-filter'",
             "may not change email filter \"alice-filter\": only admins manage global filters"),
            ("UPDATE email_filter SET user_id = \(bob) WHERE name = 'alice-filter'",
             "a user's filters are managed by that user or an admin"),
            ("UPDATE email_filter SET account_id = \(f.accounts["group"]!) WHERE name = 'alice-own-filter'",
             "only admins manage filters of group accounts"),
        ]
        for (sql, message) in refused {
            let result = try await Self.attempt(pool, tenant: t, as: alice, [sql])
            Self.expect(result, allowed: false, message: "user \(alice) ", sql.text)
            Self.expectReason(result, message)
        }
        // An admin hands alice's account over to bob (bob's second: within the cap).
        Self.expect(try await Self.attempt(pool, tenant: t, as: f.users["admin"]!, [
            "UPDATE mail_account SET owner_user_id = \(bob) WHERE id = \(f.accounts["alice"]!)",
        ]), allowed: true, message: "", "admin hands over")

        // The owner deletes her account for good (committed): its folders and filters go with it.
        try await pool.withConnection { conn in
            try conn.transaction(tenant: t) {
                try conn.executeScript("SET LOCAL mailroom.user_id = '\(alice)'")
                #expect(try conn.execute("DELETE FROM mail_account WHERE id = \(f.accounts["alice"]!)") == 1)
            }
        }
        let left = try await pool.transaction(tenant: t) { conn in
            try conn.query("""
                SELECT (SELECT count(*) FROM mail_folder WHERE account_id = \(f.accounts["alice"]!)),
                       (SELECT count(*) FROM email_filter WHERE account_id = \(f.accounts["alice"]!)),
                       (SELECT count(*) FROM email_filter WHERE name = 'alice-filter')
                """).one()
        }
        #expect(try left.decode(Int.self, at: 0) == 0)
        #expect(try left.decode(Int.self, at: 1) == 0)
        #expect(try left.decode(Int.self, at: 2) == 1, "her user filter is not the account's")
    }

    /// Without `mailroom.user_id` (the manifest, `mailroom apply`, the worker) writes are not
    /// restricted by user; the personal account cap holds in both contexts.
    @Test func operatorContextAndTheCap() async throws {
        let pool = try await TestDatabase.pool()
        let f = try await Self.makeFixture(pool, prefix: "self-op")
        let t = f.tenant
        let everything: [SQL] = [
            "INSERT INTO mail_account (tenant_id, kind, name, address) VALUES (\(t), 'group', 'Sales', 'sales@acme.test')",
            "UPDATE mail_account SET display_name = 'Help' WHERE id = \(f.accounts["group"]!)",
            "UPDATE mail_account SET owner_user_id = \(f.users["alice"]!) WHERE id = \(f.accounts["bob"]!)",
            "UPDATE mail_folder SET last_uid = 42 WHERE account_id = \(f.accounts["dave"]!)",
            "INSERT INTO email_filter (tenant_id, name, scope, from_pattern, action) VALUES (\(t), 'g2', 'global', '*@x.test', 'skip')",
            "UPDATE email_filter SET position = 1 WHERE name = 'bob-filter'",
            "DELETE FROM email_filter WHERE name = 'support-filter'",
            "DELETE FROM mail_account_team WHERE account_id = \(f.accounts["group"]!)",
            "DELETE FROM mail_account WHERE id = \(f.accounts["group"]!)",
        ]
        Self.expect(try await Self.attempt(pool, tenant: t, as: nil, everything), allowed: true, message: "", "operator")

        let third: SQL = "INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address) VALUES (\(t), 'personal', \(f.users["alice"]!), 'third', 'a3@acme.test')"
        let second: SQL = "INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address) VALUES (\(t), 'personal', \(f.users["alice"]!), 'second', 'a2@acme.test')"
        for user in [nil, f.users["alice"]!, f.users["admin"]!] {
            switch try await Self.attempt(pool, tenant: t, as: user, [second, third]) {
            case .success: Issue.record("a third personal account was accepted (user \(String(describing: user)))")
            case .failure(let e):
                #expect(e.sqlState == "23514")
                #expect(e.message.contains("user \(f.users["alice"]!) already has 2 personal email account(s); the tenant allows at most 2"))
            }
        }
        // A refused user hears about the refusal before the cap.
        Self.expect(try await Self.attempt(pool, tenant: t, as: f.users["dave"]!, [
            "INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address) VALUES (\(t), 'personal', \(f.users["dave"]!), 'd2', 'd2@acme.test')",
            "INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address) VALUES (\(t), 'personal', \(f.users["dave"]!), 'd3', 'd3@acme.test')",
        ]), allowed: false, message: "may not create mail account \"d2\" <d2@acme.test>: the user is inactive", "dave over the cap")
    }

    /// The directory (users, teams, roles, addresses) decides every right: with a user set only an
    /// active admin writes it, so nobody grants themselves admin, a team, a role or an address.
    @Test func onlyAdminsWriteTheDirectory() async throws {
        let pool = try await TestDatabase.pool()
        let f = try await Self.makeFixture(pool, prefix: "self-dir")
        let t = f.tenant, alice = f.users["alice"]!, bob = f.users["bob"]!
        let role = try await pool.transaction(tenant: t) { conn -> Int64 in
            try conn.query("INSERT INTO role (tenant_id, name, group_email_account_permission) VALUES (\(t), 'agents', 'all') RETURNING id")
                .one().decode(at: 0)
        }
        let writes: [(String, SQL)] = [
            ("app_user", "UPDATE app_user SET is_admin = true WHERE id = \(alice)"),
            ("app_user", "INSERT INTO app_user (tenant_id, username, name) VALUES (\(t), 'mallory', 'Mallory')"),
            ("team_user", "INSERT INTO team_user (tenant_id, team_id, user_id) VALUES (\(t), \(f.team), \(alice))"),
            ("user_role", "INSERT INTO user_role (tenant_id, user_id, role_id) VALUES (\(t), \(alice), \(role))"),
            ("role", "UPDATE role SET group_email_account_permission = 'all' WHERE id = \(role)"),
            ("team", "INSERT INTO team (tenant_id, name) VALUES (\(t), 'mine')"),
            ("email_address_owner", "INSERT INTO email_address_owner (tenant_id, address, user_id) VALUES (\(t), 'boss@acme.test', \(alice))"),
        ]
        for (table, sql) in writes {
            Self.expect(try await Self.attempt(pool, tenant: t, as: alice, [sql]), allowed: false,
                        message: "user \(alice) may not", "alice writes \(table)")
            if case .failure(let e) = try await Self.attempt(pool, tenant: t, as: alice, [sql]) {
                #expect(e.message.contains("\(table) rows: only admins manage users, teams, roles and addresses"), "\(e.message)")
            }
            Self.expect(try await Self.attempt(pool, tenant: t, as: f.users["exadmin"]!, [sql]), allowed: false,
                        message: "the user is inactive", "inactive admin writes \(table)")
            Self.expect(try await Self.attempt(pool, tenant: t, as: f.users["admin"]!, [sql]), allowed: true, message: "", "admin writes \(table)")
            Self.expect(try await Self.attempt(pool, tenant: t, as: nil, [sql]), allowed: true, message: "", "operator writes \(table)")
        }
        // Deleting a colleague is a directory write too.
        Self.expect(try await Self.attempt(pool, tenant: t, as: alice, ["DELETE FROM app_user WHERE id = \(bob)"]),
                    allowed: false, message: "may not delete app_user rows", "alice deletes bob")
    }

    /// Another tenant's rows are invisible and unwritable, even to an admin; another tenant's user
    /// is nobody here.
    @Test func otherTenants() async throws {
        let pool = try await TestDatabase.pool()
        let f = try await Self.makeFixture(pool, prefix: "self-a")
        let g = try await Self.makeFixture(pool, prefix: "self-b")
        let t = f.tenant, admin = f.users["admin"]!
        let theirs = g.accounts["group"]!
        switch try await Self.attempt(pool, tenant: t, as: admin, [
            "UPDATE mail_account SET display_name = 'x' WHERE id = \(theirs)",
            "DELETE FROM mail_folder WHERE account_id = \(theirs)",
            "DELETE FROM email_filter WHERE name = 'support-filter' AND account_id = \(theirs)",
            "DELETE FROM mail_account WHERE id = \(theirs)",
        ]) {
        case .success(let rows): #expect(rows == [0, 0, 0, 0], "other tenant's rows are invisible")
        case .failure(let e): Issue.record("\(e)")
        }
        Self.expect(try await Self.attempt(pool, tenant: t, as: admin, [
            "INSERT INTO mail_account (tenant_id, kind, name, address) VALUES (\(g.tenant), 'group', 'Intruder', 'x@acme.test')",
        ]), allowed: false, message: "row-level security", "insert into another tenant")
        Self.expect(try await Self.attempt(pool, tenant: t, as: admin, [
            "INSERT INTO mail_folder (tenant_id, account_id, name) VALUES (\(t), \(theirs), 'Spy')",
        ]), allowed: false, message: "may not create folder \"Spy\" of mail account \(theirs) (not visible to this tenant): the mail account is not visible to this tenant", "folder on their account")
        Self.expect(try await Self.attempt(pool, tenant: t, as: admin, [
            "INSERT INTO email_filter (tenant_id, name, scope, account_id, from_pattern, action) VALUES (\(t), 'spy', 'account', \(theirs), '*', 'skip')",
        ]), allowed: false, message: "may not create email filter \"spy\": the mail account is not visible to this tenant", "filter on their account")
        // Their admin, named as the acting user in our tenant, may do nothing, not even to "their own".
        let stranger = g.users["admin"]!
        for sql: SQL in [
            "UPDATE mail_account SET display_name = 'x' WHERE id = \(f.accounts["group"]!)",
            "INSERT INTO email_filter (tenant_id, name, scope, from_pattern, action) VALUES (\(t), 'g3', 'global', '*@x.test', 'skip')",
            "DELETE FROM mail_folder WHERE account_id = \(f.accounts["alice"]!)",
        ] {
            let result = try await Self.attempt(pool, tenant: t, as: stranger, [sql])
            Self.expect(result, allowed: false, message: "user \(stranger) may not", sql.text)
            Self.expectReason(result, "no such user in this tenant")
        }
        // Their rows are untouched.
        let intact = try await pool.transaction(tenant: g.tenant) { conn in
            try conn.query("SELECT count(*) FROM mail_folder WHERE account_id = \(theirs)").one().decode(Int.self, at: 0)
        }
        #expect(intact == 1)
    }

    static func expectReason(_ result: Result<[Int], PostgresError>, _ reason: String) {
        if case .failure(let e) = result { #expect(e.message.hasSuffix(reason), "\(e.message) should end with \(reason)") }
    }
}
