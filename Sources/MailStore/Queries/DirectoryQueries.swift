import MailCore
import MailDomain

/// Upserts behind `mailroom apply` for people and records: tenants, teams, positions, roles, users,
/// memberships, CRM records and their addresses. Each write touches a row only when a value really
/// changes (`IS DISTINCT FROM`), so applying the same manifest twice writes nothing.
public enum DirectoryQueries {
    /// Creates or updates the tenant; returns its id and whether anything changed.
    public static func tenantUpsert(_ conn: PostgresConnection, slug: String, name: String, closedStatuses: [String],
                                    businessToConsumer: Bool, maxPersonalAccounts: Int,
                                    remoteImages: RemoteImagePolicy = .allow,
                                    oauthSendWait: Duration = .seconds(24 * 3600), events: Bool = true,
                                    eventRetention: Duration = .seconds(30 * 86400), softBounceLimit: Int = 3,
                                    softBounceWindow: Duration = .seconds(7 * 86400)) throws -> (TenantID, Int) {
        let changed = try conn.query("""
            INSERT INTO tenant AS t (slug, name, closed_case_statuses, business_to_consumer, max_personal_accounts, remote_images,
                                     oauth_send_wait, events_enabled, event_retention, soft_bounce_limit, soft_bounce_window)
            VALUES (\(slug), \(name), \(PostgresArray(closedStatuses))::text[], \(businessToConsumer), \(maxPersonalAccounts),
                    \(remoteImages.rawValue), make_interval(secs => \(Double(oauthSendWait.components.seconds))), \(events),
                    make_interval(secs => \(Double(eventRetention.components.seconds))), \(softBounceLimit),
                    make_interval(secs => \(Double(softBounceWindow.components.seconds))))
            ON CONFLICT (slug) DO UPDATE SET name = excluded.name, closed_case_statuses = excluded.closed_case_statuses,
                business_to_consumer = excluded.business_to_consumer, max_personal_accounts = excluded.max_personal_accounts,
                remote_images = excluded.remote_images, oauth_send_wait = excluded.oauth_send_wait,
                events_enabled = excluded.events_enabled, event_retention = excluded.event_retention,
                soft_bounce_limit = excluded.soft_bounce_limit, soft_bounce_window = excluded.soft_bounce_window, updated_at = now()
            WHERE (t.name, t.closed_case_statuses, t.business_to_consumer, t.max_personal_accounts, t.remote_images, t.oauth_send_wait,
                   t.events_enabled, t.event_retention, t.soft_bounce_limit, t.soft_bounce_window)
                  IS DISTINCT FROM (excluded.name, excluded.closed_case_statuses, excluded.business_to_consumer,
                                    excluded.max_personal_accounts, excluded.remote_images, excluded.oauth_send_wait,
                                    excluded.events_enabled, excluded.event_retention, excluded.soft_bounce_limit,
                                    excluded.soft_bounce_window)
            RETURNING id
            """)
        if let row = changed.first { return (try row.decode(at: 0), 1) }
        return (try conn.query("SELECT id FROM tenant WHERE slug = \(slug)").one().decode(at: 0), 0)
    }

    /// Inserts a row keyed by (tenant, name) in `table` if missing; returns its id and 1 when created.
    static func idByName(_ conn: PostgresConnection, table: String, tenant: TenantID, name: String) throws -> (Int64, Int) {
        let inserted = try conn.query(SQL(unsafeSQL: """
            INSERT INTO \(table) (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id
            """, binds: [tenant.postgresBind, name.postgresBind]))
        if let row = inserted.first { return (try row.decode(at: 0), 1) }
        return (try conn.query(SQL(unsafeSQL: "SELECT id FROM \(table) WHERE tenant_id = $1 AND name = $2",
                                   binds: [tenant.postgresBind, name.postgresBind])).one().decode(at: 0), 0)
    }

    public static func teamUpsert(_ conn: PostgresConnection, tenant: TenantID, name: String, positions: [String]) throws -> (TeamID, Int) {
        let (id, created) = try idByName(conn, table: "team", tenant: tenant, name: name)
        var changes = created
        changes += try conn.execute("""
            INSERT INTO team_position (tenant_id, team_id, name) SELECT \(tenant), \(id), p FROM unnest(\(PostgresArray(positions))::text[]) p
            ON CONFLICT DO NOTHING
            """)
        changes += try conn.execute("""
            DELETE FROM team_position WHERE tenant_id = \(tenant) AND team_id = \(id) AND NOT (name = ANY(\(PostgresArray(positions))::text[]))
            """)
        return (TeamID(id), changes)
    }

    public static func roleUpsert(_ conn: PostgresConnection, tenant: TenantID, name: String, groupPermission: String) throws -> (Int64, Int) {
        let (id, created) = try idByName(conn, table: "role", tenant: tenant, name: name)
        let updated = try conn.execute("""
            UPDATE role SET group_email_account_permission = \(groupPermission)
            WHERE tenant_id = \(tenant) AND id = \(id) AND group_email_account_permission IS DISTINCT FROM \(groupPermission)
            """)
        return (id, created + updated)
    }

    public static func userUpsert(_ conn: PostgresConnection, tenant: TenantID, username: String, name: String,
                                  isActive: Bool, isAdmin: Bool) throws -> (UserID, Int) {
        let rows = try conn.query("""
            INSERT INTO app_user AS u (tenant_id, username, name, is_active, is_admin)
            VALUES (\(tenant), \(username), \(name), \(isActive), \(isAdmin))
            ON CONFLICT (tenant_id, username) DO UPDATE SET name = excluded.name, is_active = excluded.is_active,
                is_admin = excluded.is_admin, updated_at = now()
            WHERE (u.name, u.is_active, u.is_admin) IS DISTINCT FROM (excluded.name, excluded.is_active, excluded.is_admin)
            RETURNING id
            """)
        if let row = rows.first { return (try row.decode(at: 0), 1) }
        return (try conn.query("SELECT id FROM app_user WHERE tenant_id = \(tenant) AND username = \(username)").one().decode(at: 0), 0)
    }

    /// Makes the user's team memberships exactly `memberships` (team id → position).
    public static func userMembershipsSync(_ conn: PostgresConnection, tenant: TenantID, user: UserID,
                                           memberships: [(TeamID, String?)]) throws -> Int {
        let teams = PostgresArray(memberships.map { $0.0.rawValue })
        let positions = PostgresArray(memberships.map { $0.1 })
        var n = try conn.execute("""
            INSERT INTO team_user AS tu (tenant_id, team_id, user_id, position)
            SELECT \(tenant), t, \(user), p FROM unnest(\(teams)::bigint[], \(positions)::text[]) AS m(t, p)
            ON CONFLICT (tenant_id, team_id, user_id) DO UPDATE SET position = excluded.position
            WHERE tu.position IS DISTINCT FROM excluded.position
            """)
        n += try conn.execute("DELETE FROM team_user WHERE tenant_id = \(tenant) AND user_id = \(user) AND NOT (team_id = ANY(\(teams)::bigint[]))")
        return n
    }

    public static func userRolesSync(_ conn: PostgresConnection, tenant: TenantID, user: UserID, roles: [Int64]) throws -> Int {
        let ids = PostgresArray(roles)
        var n = try conn.execute("""
            INSERT INTO user_role (tenant_id, user_id, role_id) SELECT \(tenant), \(user), r FROM unnest(\(ids)::bigint[]) r
            ON CONFLICT DO NOTHING
            """)
        n += try conn.execute("DELETE FROM user_role WHERE tenant_id = \(tenant) AND user_id = \(user) AND NOT (role_id = ANY(\(ids)::bigint[]))")
        return n
    }

    /// Owner columns of `email_address_owner`.
    public enum AddressOwner: Sendable {
        case user(UserID), contact(Int64), account(Int64), lead(Int64)
        var column: String {
            switch self {
            case .user: return "user_id"
            case .contact: return "contact_id"
            case .account: return "account_id"
            case .lead: return "lead_id"
            }
        }
        var id: Int64 {
            switch self {
            case .user(let u): return u.rawValue
            case .contact(let i), .account(let i), .lead(let i): return i
            }
        }
    }

    /// Makes the owner's addresses exactly `addresses`, the first one primary, in order.
    public static func addressesSync(_ conn: PostgresConnection, tenant: TenantID, owner: AddressOwner, addresses: [String]) throws -> Int {
        let col = owner.column
        let list = PostgresArray(addresses.map { $0.lowercased() })
        var n = try conn.execute(SQL(unsafeSQL: """
            DELETE FROM email_address_owner o
            WHERE o.tenant_id = $1 AND o.\(col) = $2 AND (
                NOT (o.address = ANY($3::text[]))
                OR (o.position, o.is_primary) IS DISTINCT FROM
                   ((array_position($3::text[], o.address) - 1), array_position($3::text[], o.address) = 1))
            """, binds: [tenant.postgresBind, owner.id.postgresBind, list.postgresBind]))
        n += try conn.execute(SQL(unsafeSQL: """
            INSERT INTO email_address_owner (tenant_id, address, \(col), is_primary, position)
            SELECT $1, a, $2, ord = 1, ord - 1 FROM unnest($3::text[]) WITH ORDINALITY AS x(a, ord)
            ON CONFLICT DO NOTHING
            """, binds: [tenant.postgresBind, owner.id.postgresBind, list.postgresBind]))
        return n
    }

    public static func crmAccountUpsert(_ conn: PostgresConnection, tenant: TenantID, name: String) throws -> (Int64, Int) {
        try idByName(conn, table: "crm_account", tenant: tenant, name: name)
    }

    public static func leadUpsert(_ conn: PostgresConnection, tenant: TenantID, name: String) throws -> (Int64, Int) {
        try idByName(conn, table: "lead", tenant: tenant, name: name)
    }

    public static func contactUpsert(_ conn: PostgresConnection, tenant: TenantID, name: String, account: Int64?) throws -> (Int64, Int) {
        let (id, created) = try idByName(conn, table: "contact", tenant: tenant, name: name)
        let n = try conn.execute("""
            UPDATE contact SET account_id = \(account) WHERE tenant_id = \(tenant) AND id = \(id) AND account_id IS DISTINCT FROM \(account)
            """)
        return (id, created + n)
    }

    public static func opportunityUpsert(_ conn: PostgresConnection, tenant: TenantID, name: String, account: Int64?) throws -> (Int64, Int) {
        let (id, created) = try idByName(conn, table: "opportunity", tenant: tenant, name: name)
        let n = try conn.execute("""
            UPDATE opportunity SET account_id = \(account) WHERE tenant_id = \(tenant) AND id = \(id) AND account_id IS DISTINCT FROM \(account)
            """)
        return (id, created + n)
    }
}
