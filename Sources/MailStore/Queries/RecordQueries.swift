import MailCore

/// Lookups across the CRM record tables (`support_case`, `contact`, `crm_account`, `lead`,
/// `opportunity`) by `RecordRef`. Call inside a transaction scoped to the tenant.
public enum RecordQueries {
    /// Whether the record exists in the tenant, and its CRM account (an account is its own; a lead has none).
    public static func recordAccount(_ conn: PostgresConnection, tenant: TenantID, _ record: RecordRef) throws -> (exists: Bool, account: Int64?) {
        let sql: SQL
        switch record.type {
        case .supportCase: sql = "SELECT account_id FROM support_case WHERE tenant_id = \(tenant) AND id = \(record.id)"
        case .contact: sql = "SELECT account_id FROM contact WHERE tenant_id = \(tenant) AND id = \(record.id)"
        case .account: sql = "SELECT id FROM crm_account WHERE tenant_id = \(tenant) AND id = \(record.id)"
        case .lead: sql = "SELECT NULL::bigint FROM lead WHERE tenant_id = \(tenant) AND id = \(record.id)"
        case .opportunity: sql = "SELECT account_id FROM opportunity WHERE tenant_id = \(tenant) AND id = \(record.id)"
        }
        guard let row = try conn.query(sql).first else { return (false, nil) }
        return (true, try row.decode(Int64?.self, at: 0))
    }
}
