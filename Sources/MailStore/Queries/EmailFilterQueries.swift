import Foundation
import MailCore
import MailDomain

/// Queries on `email_filter`. Call inside a transaction scoped to the tenant.
public enum EmailFilterQueries {
    static let columns = """
        id, name, scope, account_id, user_id, from_pattern, to_pattern, subject_pattern, header_name, header_pattern,
        to_jsonb(body_any)::text, to_jsonb(body_all)::text, action, folder, position
        """

    static func decode(_ row: PostgresRow) throws -> EmailFilter? {
        let header: EmailFilter.Criteria.HeaderCriterion?
        if let name: String = try row.decode(at: 8), let pattern: String = try row.decode(at: 9) {
            header = .init(name: name, pattern: pattern)
        } else {
            header = nil
        }
        let criteria = EmailFilter.Criteria(
            from: try row.decode(at: 5), toOrCc: try row.decode(at: 6), subject: try row.decode(at: 7), header: header,
            bodyContainsAny: try strings(row.decode(at: 10)), bodyContainsAll: try strings(row.decode(at: 11)))
        guard let scope = EmailFilter.Scope(rawValue: try row.decode(at: 2)),
              let action = EmailFilter.Action(kind: try row.decode(at: 12), folder: try row.decode(at: 13)) else { return nil }
        return EmailFilter(id: try row.decode(at: 0), name: try row.decode(at: 1), scope: scope, accountID: try row.decode(at: 3),
                           userID: try row.decode(at: 4), criteria: criteria, action: action, position: try row.decode(at: 14))
    }

    static func strings(_ json: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(json.utf8))
    }

    /// The active filters that concern mail of one account: global ones, the account's own, and every
    /// user filter of the tenant (a user filter follows its user through any account). Loaded once
    /// per poll, so a change applies to the next poll.
    public static func emailFilterListForAccount(_ conn: PostgresConnection, tenant: TenantID, account: AccountID) throws -> [EmailFilter] {
        try conn.query(SQL(unsafeSQL: """
            SELECT \(columns) FROM email_filter
            WHERE tenant_id = $1 AND is_active AND (scope <> 'account' OR account_id = $2)
            ORDER BY scope, position, id
            """, binds: [tenant.postgresBind, account.postgresBind])).compactMap(decode)
    }

    /// Creates or updates a filter by name (`mailroom apply`); returns 1 when anything changed.
    public static func emailFilterUpsert(_ conn: PostgresConnection, tenant: TenantID, _ f: EmailFilter) throws -> Int {
        let c = f.criteria
        return try conn.execute("""
            INSERT INTO email_filter AS x (tenant_id, name, scope, account_id, user_id, from_pattern, to_pattern, subject_pattern,
                                           header_name, header_pattern, body_any, body_all, action, folder, position, is_active)
            VALUES (\(tenant), \(f.name), \(f.scope.rawValue), \(f.accountID), \(f.userID), \(c.from), \(c.toOrCc), \(c.subject),
                    \(c.header?.name), \(c.header?.pattern), \(PostgresArray(c.bodyContainsAny))::text[],
                    \(PostgresArray(c.bodyContainsAll))::text[], \(f.action.kind), \(f.action.folder), \(f.position), true)
            ON CONFLICT (tenant_id, name) DO UPDATE SET
                scope = excluded.scope, account_id = excluded.account_id, user_id = excluded.user_id,
                from_pattern = excluded.from_pattern, to_pattern = excluded.to_pattern, subject_pattern = excluded.subject_pattern,
                header_name = excluded.header_name, header_pattern = excluded.header_pattern, body_any = excluded.body_any,
                body_all = excluded.body_all, action = excluded.action, folder = excluded.folder, position = excluded.position,
                is_active = true
            WHERE (x.scope, x.account_id, x.user_id, x.from_pattern, x.to_pattern, x.subject_pattern, x.header_name,
                   x.header_pattern, x.body_any, x.body_all, x.action, x.folder, x.position, x.is_active)
              IS DISTINCT FROM
                  (excluded.scope, excluded.account_id, excluded.user_id, excluded.from_pattern, excluded.to_pattern,
                   excluded.subject_pattern, excluded.header_name, excluded.header_pattern, excluded.body_any,
                   excluded.body_all, excluded.action, excluded.folder, excluded.position, true)
            """)
    }

    /// Every filter of the tenant as JSON (`mailroom export`), by scope, position and name.
    public static func emailFilterExport(_ conn: PostgresConnection, tenant: TenantID) throws -> [String] {
        try conn.query("""
            SELECT jsonb_strip_nulls(jsonb_build_object(
                'name', f.name, 'scope', f.scope, 'account', a.name, 'user', u.username,
                'from', f.from_pattern, 'to', f.to_pattern, 'subject', f.subject_pattern,
                'header', CASE WHEN f.header_name IS NULL THEN NULL
                               ELSE jsonb_build_object('name', f.header_name, 'value', f.header_pattern) END,
                'body_any', CASE WHEN cardinality(f.body_any) > 0 THEN to_jsonb(f.body_any) END,
                'body_all', CASE WHEN cardinality(f.body_all) > 0 THEN to_jsonb(f.body_all) END,
                'action', f.action, 'folder', f.folder, 'position', f.position, 'active', f.is_active))::text
            FROM email_filter f
            LEFT JOIN mail_account a ON a.tenant_id = f.tenant_id AND a.id = f.account_id
            LEFT JOIN app_user u ON u.tenant_id = f.tenant_id AND u.id = f.user_id
            WHERE f.tenant_id = \(tenant)
            ORDER BY f.scope, f.position, f.name
            """).map { try $0.decode(String.self, at: 0) }
    }
}
