import MailCore

extension EmailQueries {
    /// Parents of stored emails among `messageIDs`: Message-ID → parent record, for emails that have one.
    public static func emailParentsByMessageID(_ conn: PostgresConnection, tenant: TenantID,
                                               messageIDs: [String]) throws -> [String: RecordRef] {
        guard !messageIDs.isEmpty else { return [:] }
        var out: [String: RecordRef] = [:]
        for row in try conn.query("""
            SELECT message_id, parent_type, parent_id FROM email
            WHERE tenant_id = \(tenant) AND message_id = ANY(\(PostgresArray(messageIDs))::text[]) AND parent_id IS NOT NULL
            """) {
            if let type = RecordType(rawValue: try row.decode(at: 1)) { out[try row.decode(at: 0)] = RecordRef(type, try row.decode(at: 2)) }
        }
        return out
    }

    /// Links the email to its record and the record's CRM account.
    public static func emailSetParent(_ conn: PostgresConnection, tenant: TenantID, email: EmailID, parent: RecordRef,
                                      crmAccount: Int64?) throws {
        try conn.execute("""
            UPDATE email SET parent_type = \(parent.type.rawValue), parent_id = \(parent.id), crm_account_id = \(crmAccount)
            WHERE tenant_id = \(tenant) AND id = \(email)
            """)
    }

    /// Puts the email in the user's inbox (idempotent; an existing row keeps its state).
    public static func emailDeliverToUser(_ conn: PostgresConnection, tenant: TenantID, email: EmailID, user: UserID,
                                          folder: String = "inbox") throws {
        try conn.execute("""
            INSERT INTO email_user (tenant_id, email_id, user_id, folder) VALUES (\(tenant), \(email), \(user), \(folder))
            ON CONFLICT (tenant_id, email_id, user_id) DO NOTHING
            """)
    }
}
