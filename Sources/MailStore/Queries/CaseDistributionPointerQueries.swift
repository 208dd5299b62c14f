import MailCore

/// Queries on `case_distribution_pointer` and the eligible users it rotates over. Call inside a
/// transaction scoped to the tenant.
public enum CaseDistributionPointerQueries {
    /// Locks the pointer of (account, team), creating it on first use, and returns the user assigned
    /// last. The row lock is held until commit: a second replica creating a case for the same account
    /// and team waits here, and then (READ COMMITTED: each statement takes a new snapshot) sees the
    /// first one's pointer and cases. Counting, choosing, numbering and storing the pointer all happen
    /// after this, so concurrent imports yield exactly the sequence one importer would.
    public static func pointerLock(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, team: TeamID) throws -> UserID? {
        try conn.execute("""
            INSERT INTO case_distribution_pointer (tenant_id, account_id, team_id) VALUES (\(tenant), \(account), \(team))
            ON CONFLICT DO NOTHING
            """)
        return try conn.query("""
            SELECT last_user_id FROM case_distribution_pointer
            WHERE tenant_id = \(tenant) AND account_id = \(account) AND team_id = \(team) FOR UPDATE
            """).one().decode(at: 0)
    }

    public static func pointerSet(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, team: TeamID, user: UserID) throws {
        try conn.execute("""
            UPDATE case_distribution_pointer SET last_user_id = \(user), updated_at = now()
            WHERE tenant_id = \(tenant) AND account_id = \(account) AND team_id = \(team)
            """)
    }

    /// Active members of the team (holding `position`, when given) in ascending user id, each with the
    /// number of open cases assigned to them (status outside the tenant's closed statuses), in one statement.
    public static func pointerCandidates(_ conn: PostgresConnection, tenant: TenantID, team: TeamID,
                                         position: String?) throws -> [(user: UserID, openCases: Int)] {
        try conn.query("""
            SELECT u.id, (SELECT count(*) FROM support_case c
                          WHERE c.tenant_id = \(tenant) AND c.assigned_user_id = u.id
                            AND c.status <> ALL((SELECT closed_case_statuses FROM tenant WHERE id = \(tenant))::text[]))
            FROM team_user tu JOIN app_user u ON u.tenant_id = tu.tenant_id AND u.id = tu.user_id
            WHERE tu.tenant_id = \(tenant) AND tu.team_id = \(team) AND u.is_active
              AND (\(position)::text IS NULL OR tu.position = \(position)::text)
            ORDER BY u.id
            """).map { (try $0.decode(at: 0), try $0.decode(at: 1)) }
    }

    /// True when the user exists and is active (a direct assignee or fallback must be).
    public static func pointerUserIsActive(_ conn: PostgresConnection, tenant: TenantID, user: UserID) throws -> Bool {
        try conn.query("SELECT EXISTS (SELECT 1 FROM app_user WHERE tenant_id = \(tenant) AND id = \(user) AND is_active)")
            .one().decode(at: 0)
    }
}
