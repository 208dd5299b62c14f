import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// The whole send-permission matrix, enforced by Postgres: users × accounts × role levels × team
/// overlap, through `mailroom_queue_email` and through a plain INSERT (42501).
@Suite struct SendPermissionTests {
    /// Users and the accounts each may send from; every other pair is refused.
    static let allowed: [String: Set<String>] = [
        "admin": ["g_ok", "g_unshared", "g_nosmtp", "g_inactive", "p_owner"],
        "no_in_team": [], "team_in": ["g_ok"], "team_out": [], "all_no_team": ["g_ok"], "no_roles_in_team": [],
        "all_inactive": [], "owner": ["p_owner"], "team_and_no": ["g_ok"],
    ]

    @Test func matrixThroughTheFunctionAndRawInsert() async throws {
        let pool = try await TestDatabase.pool()
        let (t, _) = try await TestDatabase.makeTenant("perm", in: pool)
        let (other, _) = try await TestDatabase.makeTenant("perm-other", in: pool)
        let otherAccount: Int64 = try await pool.transaction(tenant: other) { conn in
            try conn.query("""
                INSERT INTO mail_account (tenant_id, kind, name, address, smtp_host, smtp_shared) VALUES (\(other), 'group', 'o', 'o@other.test', 'h', true)
                RETURNING id
                """).one().decode(at: 0)
        }
        let (users, made) = try await pool.transaction(tenant: t) { conn -> ([String: Int64], [String: Int64]) in
            var users: [String: Int64] = [:], accounts: [String: Int64] = [:]
            func id(_ sql: SQL) throws -> Int64 { try conn.query(sql).one().decode(at: 0) }
            let t1 = try id("INSERT INTO team (tenant_id, name) VALUES (\(t), 't1') RETURNING id")
            let t2 = try id("INSERT INTO team (tenant_id, name) VALUES (\(t), 't2') RETURNING id")
            var roles: [String: Int64] = [:]
            for level in ["no", "team", "all"] {
                roles[level] = try id("INSERT INTO role (tenant_id, name, group_email_account_permission) VALUES (\(t), \(level), \(level)) RETURNING id")
            }
            let specs: [(String, admin: Bool, active: Bool, roles: [String], teams: [Int64])] = [
                ("admin", true, true, [], []), ("no_in_team", false, true, ["no"], [t1]), ("team_in", false, true, ["team"], [t1]),
                ("team_out", false, true, ["team"], [t2]), ("all_no_team", false, true, ["all"], []),
                ("no_roles_in_team", false, true, [], [t1]), ("all_inactive", false, false, ["all"], [t1]), ("owner", false, true, [], []),
                ("team_and_no", false, true, ["no", "team"], [t1, t2]),
            ]
            for spec in specs {
                let u = try id("INSERT INTO app_user (tenant_id, username, name, is_admin, is_active) VALUES (\(t), \(spec.0), \(spec.0), \(spec.admin), \(spec.active)) RETURNING id")
                users[spec.0] = u
                for r in spec.roles { try conn.execute("INSERT INTO user_role (tenant_id, user_id, role_id) VALUES (\(t), \(u), \(roles[r]!))") }
                for team in spec.teams { try conn.execute("INSERT INTO team_user (tenant_id, team_id, user_id) VALUES (\(t), \(team), \(u))") }
            }
            let groups: [(String, active: Bool, smtp: String?, shared: Bool)] = [
                ("g_ok", true, "127.0.0.1", true), ("g_unshared", true, "127.0.0.1", false), ("g_nosmtp", true, nil, true),
                ("g_inactive", false, "127.0.0.1", true),
            ]
            for g in groups {
                let a = try id("""
                    INSERT INTO mail_account (tenant_id, kind, name, address, is_active, smtp_host, smtp_shared)
                    VALUES (\(t), 'group', \(g.0), \(g.0 + "@acme.test"), \(g.active), \(g.smtp), \(g.shared)) RETURNING id
                    """)
                accounts[g.0] = a
                try conn.execute("INSERT INTO mail_account_team (tenant_id, account_id, team_id) VALUES (\(t), \(a), \(t1))")
            }
            accounts["p_owner"] = try id("""
                INSERT INTO mail_account (tenant_id, kind, name, address, owner_user_id, smtp_host)
                VALUES (\(t), 'personal', 'mine', 'owner@acme.test', \(users["owner"]!), '127.0.0.1') RETURNING id
                """)
            return (users, accounts)
        }
        let accounts = made.merging(["g_other": otherAccount]) { a, _ in a }

        var checked = 0
        for (user, userID) in users {
            for (account, accountID) in accounts {
                let expected = Self.allowed[user]!.contains(account)
                // 1. The SQL function the host CRM calls.
                var functionState: String?
                do {
                    _ = try await pool.transaction(tenant: t) { conn in
                        try conn.query("SELECT mailroom_queue_email(\(accountID), \(userID), ARRAY['c@example.com'], p_subject => 's', p_text => 'x')").one()
                    }
                } catch let e as PostgresError { functionState = e.sqlState }
                if expected {
                    // Permitted; an account without SMTP is refused as invalid input, not as a permission.
                    #expect(functionState == (account == "g_nosmtp" ? "22023" : nil), "\(user) → \(account)")
                } else {
                    #expect(functionState == "42501", "\(user) → \(account)")
                }
                // 2. A plain INSERT of an outgoing email.
                do {
                    try await pool.transaction(tenant: t) { conn in
                        _ = try conn.execute("""
                            INSERT INTO email (tenant_id, message_id, status, send_account_id, created_by_user_id)
                            VALUES (\(t), \(UUID().uuidString + "@raw.test"), 'Sending', \(accountID), \(userID))
                            """)
                    }
                    #expect(expected, "raw insert allowed: \(user) → \(account)")
                } catch let e as PostgresError {
                    #expect(!expected, "raw insert refused: \(user) → \(account): \(e)")
                    #expect(e.sqlState == "42501")
                    #expect(e.message.contains("mail account \(accountID)"))
                }
                checked += 1
            }
        }
        #expect(checked == users.count * accounts.count)

        // Outgoing rows without a user are only auto-replies the account may send.
        do {
            try await pool.transaction(tenant: t) { conn in
                _ = try conn.execute("""
                    INSERT INTO email (tenant_id, message_id, status, send_account_id, is_auto_reply)
                    VALUES (\(t), 'anon@raw.test', 'Sending', \(accounts["g_ok"]!), true)
                    """)
            }
            Issue.record("an auto-reply that answers nothing was accepted")
        } catch let e as PostgresError {
            #expect(e.sqlState == "42501")
        }
        // Moving a permitted row to an account the user may not use is refused too.
        do {
            try await pool.transaction(tenant: t) { conn in
                _ = try conn.execute("UPDATE email SET send_account_id = \(accounts["g_unshared"]!) WHERE created_by_user_id = \(users["team_in"]!)")
            }
            Issue.record("update to a forbidden account was accepted")
        } catch let e as PostgresError {
            #expect(e.sqlState == "42501")
        }
    }
}
