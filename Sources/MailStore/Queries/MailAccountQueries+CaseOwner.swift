import MailCore
import MailDomain

extension MailAccountQueries {
    /// Every mail account of the tenant as `CaseOwner.decide` needs it: address, aliases, priority,
    /// and whether it can own a case (an active group account with `case_create`). Inactive and
    /// personal accounts are listed too: their addresses are monitored mailboxes, which an envelope
    /// header never counts for.
    public static func mailAccountCaseOwners(_ conn: PostgresConnection, tenant: TenantID) throws -> [CaseOwner.Account] {
        try conn.query("""
            SELECT id, address, aliases, kind = 'group' AND is_active AND case_create, case_priority
            FROM mail_account WHERE tenant_id = \(tenant) ORDER BY id
            """, prepared: true).map { row in
            CaseOwner.Account(id: try row.decode(AccountID.self, at: 0), address: try row.decode(String.self, at: 1),
                              aliases: try row.decode(PostgresTextArray.self, at: 2).elements, createsCases: try row.decode(Bool.self, at: 3),
                              priority: try row.decode(Int.self, at: 4))
        }
    }

    /// Sets a group account's aliases (lowercase) and case priority; returns 1 when anything changed.
    public static func mailAccountSetCaseOwner(_ conn: PostgresConnection, tenant: TenantID, id: AccountID,
                                               aliases: [String], priority: Int) throws -> Int {
        let list = PostgresArray(aliases.map { $0.lowercased() })
        return try conn.execute("""
            UPDATE mail_account SET aliases = \(list)::text[], case_priority = \(priority), updated_at = now()
            WHERE tenant_id = \(tenant) AND id = \(id)
              AND (aliases, case_priority) IS DISTINCT FROM (\(list)::text[], \(priority)::integer)
            """)
    }
}
