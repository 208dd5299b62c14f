import MailCore

extension EmailQueries {
    /// Parents of stored emails among `messageIDs`: Message-ID → parent record, for emails that have one.
    public static func emailParentsByMessageID(_ conn: PostgresConnection, tenant: TenantID,
                                               messageIDs: [String]) throws -> [String: RecordRef] {
        guard !messageIDs.isEmpty else { return [:] }
        var out: [String: RecordRef] = [:]
        // A join over unnest, not `message_id = ANY(…)`: the statement is prepared, and a generic plan made
        // while `email` has no statistics yet (a new database's first import) scans the tenant's whole
        // partial index for `= ANY`, once per batch; the join probes the unique index per Message-ID whatever
        // the statistics say.
        for row in try conn.query("""
            SELECT e.message_id, e.parent_type, e.parent_id
            FROM unnest(\(PostgresArray(messageIDs))::text[]) AS wanted(message_id)
            JOIN email e ON e.tenant_id = \(tenant) AND e.message_id = wanted.message_id
            WHERE e.parent_id IS NOT NULL
            """, prepared: true) {
            out[try row.decode(at: 0)] = RecordRef(try row.decode(RecordType.self, at: 1), try row.decode(at: 2))
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

    /// Links several emails to their records in one statement: each email's parent and the parent's
    /// CRM account (an account is its own; a contact's or opportunity's account; a lead has none), and
    /// an `email_received` entry in each record's stream, in the order given.
    public static func emailLinkMany(_ conn: PostgresConnection, tenant: TenantID, _ links: [(email: EmailID, parent: RecordRef)]) throws {
        guard !links.isEmpty else { return }
        try conn.execute("""
            WITH l AS (
                SELECT * FROM unnest(\(PostgresArray(links.map(\.email.rawValue)))::bigint[],
                                     \(PostgresArray(links.map(\.parent.type.rawValue)))::text[],
                                     \(PostgresArray(links.map(\.parent.id)))::bigint[]) WITH ORDINALITY AS l(email_id, type, id, n)
            ), a AS (
                SELECT l.*, CASE l.type
                    WHEN 'account' THEN (SELECT x.id FROM crm_account x WHERE x.tenant_id = \(tenant) AND x.id = l.id)
                    WHEN 'contact' THEN (SELECT x.account_id FROM contact x WHERE x.tenant_id = \(tenant) AND x.id = l.id)
                    WHEN 'opportunity' THEN (SELECT x.account_id FROM opportunity x WHERE x.tenant_id = \(tenant) AND x.id = l.id)
                    WHEN 'case' THEN (SELECT x.account_id FROM support_case x WHERE x.tenant_id = \(tenant) AND x.id = l.id)
                    END AS account_id
                FROM l
            ), linked AS (
                UPDATE email e SET parent_type = a.type, parent_id = a.id, crm_account_id = a.account_id
                FROM a WHERE e.tenant_id = \(tenant) AND e.id = a.email_id
            )
            INSERT INTO stream_entry (tenant_id, record_type, record_id, kind, email_id)
            SELECT \(tenant), type, id, 'email_received', email_id FROM l ORDER BY n
            """, prepared: true)
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
