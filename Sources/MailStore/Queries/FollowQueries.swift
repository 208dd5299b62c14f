import MailCore

/// Queries on `follow`. Call inside a transaction scoped to the tenant.
public enum FollowQueries {
    /// The user follows the record (idempotent).
    public static func followAdd(_ conn: PostgresConnection, tenant: TenantID, user: UserID, record: RecordRef) throws {
        try conn.execute("""
            INSERT INTO follow (tenant_id, user_id, record_type, record_id)
            VALUES (\(tenant), \(user), \(record.type.rawValue), \(record.id))
            ON CONFLICT DO NOTHING
            """)
    }

    public static func followRemove(_ conn: PostgresConnection, tenant: TenantID, user: UserID, record: RecordRef) throws {
        try conn.execute("""
            DELETE FROM follow WHERE tenant_id = \(tenant) AND user_id = \(user)
              AND record_type = \(record.type.rawValue) AND record_id = \(record.id)
            """)
    }

    /// Followers of the record, ascending.
    public static func followList(_ conn: PostgresConnection, tenant: TenantID, record: RecordRef) throws -> [UserID] {
        try conn.query("""
            SELECT user_id FROM follow WHERE tenant_id = \(tenant) AND record_type = \(record.type.rawValue)
              AND record_id = \(record.id) ORDER BY user_id
            """).map { try $0.decode(at: 0) }
    }
}
