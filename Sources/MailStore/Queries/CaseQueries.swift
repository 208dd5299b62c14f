import MailCore

/// Queries on `support_case`. Call inside a transaction scoped to the tenant.
public enum CaseQueries {
    public struct SupportCase: Sendable, Equatable {
        public var id: Int64
        public var number: Int64
        public var status: String
        public var teamID: TeamID?
        public var assignedUserID: UserID?
        public var accountID: Int64?
    }

    public struct NewCase: Sendable {
        public var name: String
        public var description: String?
        public var status: String
        public var teamID: TeamID?
        public var assignedUserID: UserID?
        public var contactID: Int64?
        public var accountID: Int64?
        public var leadID: Int64?
        public var sourceAccountID: AccountID
        public init(name: String, description: String?, status: String, teamID: TeamID?, assignedUserID: UserID?,
                    contactID: Int64?, accountID: Int64?, leadID: Int64?, sourceAccountID: AccountID) {
            self.name = name; self.description = description; self.status = status; self.teamID = teamID
            self.assignedUserID = assignedUserID; self.contactID = contactID; self.accountID = accountID
            self.leadID = leadID; self.sourceAccountID = sourceAccountID
        }
    }

    /// Inserts a case with the tenant's next number. The number comes from `tenant.next_case_number`,
    /// whose row stays locked until commit: case numbers are gapless and in commit order. A caller
    /// that distributes takes the distribution pointer's lock first, so numbers follow assignment order.
    public static func caseCreate(_ conn: PostgresConnection, tenant: TenantID, _ c: NewCase) throws -> SupportCase {
        let row = try conn.query("""
            WITH n AS (
                UPDATE tenant SET next_case_number = next_case_number + 1 WHERE id = \(tenant)
                RETURNING next_case_number - 1 AS number
            )
            INSERT INTO support_case (tenant_id, number, name, description, status, team_id, assigned_user_id,
                                      contact_id, account_id, lead_id, source_account_id)
            SELECT \(tenant), n.number, \(c.name), \(c.description), \(c.status), \(c.teamID), \(c.assignedUserID),
                   \(c.contactID), \(c.accountID), \(c.leadID), \(c.sourceAccountID)
            FROM n
            RETURNING id, number
            """).one()
        return SupportCase(id: try row.decode(at: 0), number: try row.decode(at: 1), status: c.status, teamID: c.teamID,
                           assignedUserID: c.assignedUserID, accountID: c.accountID)
    }

    static let columns = "id, number, status, team_id, assigned_user_id, account_id"

    static func decode(_ row: PostgresRow) throws -> SupportCase {
        SupportCase(id: try row.decode(at: 0), number: try row.decode(at: 1), status: try row.decode(at: 2),
                    teamID: try row.decode(at: 3), assignedUserID: try row.decode(at: 4), accountID: try row.decode(at: 5))
    }

    public static func caseGet(_ conn: PostgresConnection, tenant: TenantID, id: Int64) throws -> SupportCase? {
        try conn.query(SQL(unsafeSQL: "SELECT \(columns) FROM support_case WHERE tenant_id = $1 AND id = $2",
                           binds: [tenant.postgresBind, id.postgresBind])).first.map(decode)
    }

    public static func caseGetByNumber(_ conn: PostgresConnection, tenant: TenantID, number: Int64) throws -> SupportCase? {
        try conn.query(SQL(unsafeSQL: "SELECT \(columns) FROM support_case WHERE tenant_id = $1 AND number = $2",
                           binds: [tenant.postgresBind, number.postgresBind])).first.map(decode)
    }

    /// True when `address` belongs to the case's contact, account or lead, to one of the tenant's
    /// users, or took part (from, to, cc) in an email already on the case.
    public static func caseIsRelated(_ conn: PostgresConnection, tenant: TenantID, id: Int64, address: String) throws -> Bool {
        try conn.query("""
            SELECT EXISTS (
                SELECT 1 FROM email_address_owner o JOIN support_case c ON c.tenant_id = o.tenant_id AND c.id = \(id)
                WHERE o.tenant_id = \(tenant) AND o.address = \(address)
                  AND (o.user_id IS NOT NULL OR o.contact_id = c.contact_id OR o.account_id = c.account_id
                       OR o.lead_id = c.lead_id
                       OR o.contact_id IN (SELECT id FROM contact WHERE tenant_id = \(tenant) AND account_id = c.account_id))
            ) OR EXISTS (
                SELECT 1 FROM email e JOIN email_recipient r ON r.tenant_id = e.tenant_id AND r.email_id = e.id
                WHERE e.tenant_id = \(tenant) AND e.parent_type = 'case' AND e.parent_id = \(id)
                  AND r.kind IN ('from', 'to', 'cc') AND r.address = \(address)
            )
            """).one().decode(at: 0)
    }

    /// Reopens a closed case to `status`.
    public static func caseSetStatus(_ conn: PostgresConnection, tenant: TenantID, id: Int64, status: String) throws {
        try conn.execute("UPDATE support_case SET status = \(status) WHERE tenant_id = \(tenant) AND id = \(id)")
    }

    /// Every linked email bumps the case's last activity.
    public static func caseTouch(_ conn: PostgresConnection, tenant: TenantID, id: Int64) throws {
        try conn.execute("""
            UPDATE support_case SET last_activity_at = greatest(last_activity_at, now()) WHERE tenant_id = \(tenant) AND id = \(id)
            """)
    }

    /// Open cases without an assignee (no eligible user when they were created), for `mailroom status`.
    public static func caseCountUnassignedOpen(_ conn: PostgresConnection, tenant: TenantID) throws -> Int {
        try conn.query("""
            SELECT count(*) FROM support_case c
            WHERE c.tenant_id = \(tenant) AND c.assigned_user_id IS NULL
              AND c.status <> ALL((SELECT closed_case_statuses FROM tenant WHERE id = \(tenant))::text[])
            """).one().decode(at: 0)
    }
}
