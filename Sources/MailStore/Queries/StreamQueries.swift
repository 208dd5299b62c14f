import MailCore

/// Queries on `stream_entry`, a record's history. Call inside a transaction scoped to the tenant.
public enum StreamQueries {
    public enum Kind: String, Sendable {
        case emailReceived = "email_received", emailSent = "email_sent", caseCreated = "case_created"
        case assigned, reopened, emailBounced = "email_bounced"
    }

    public static func streamAdd(_ conn: PostgresConnection, tenant: TenantID, record: RecordRef, kind: Kind,
                                 email: EmailID? = nil, data: [String: String] = [:]) throws {
        try conn.execute("""
            INSERT INTO stream_entry (tenant_id, record_type, record_id, kind, email_id, data)
            VALUES (\(tenant), \(record.type.rawValue), \(record.id), \(kind.rawValue), \(email), \(try PostgresJSON(data))::jsonb)
            """)
    }

    /// Kinds of the record's entries, oldest first.
    public static func streamKinds(_ conn: PostgresConnection, tenant: TenantID, record: RecordRef) throws -> [String] {
        try conn.query("""
            SELECT kind FROM stream_entry WHERE tenant_id = \(tenant) AND record_type = \(record.type.rawValue)
              AND record_id = \(record.id) ORDER BY id
            """).map { try $0.decode(at: 0) }
    }
}
