import MailCore

extension ExportQueries {
    /// One JSON object per support case, by number: number, name, status, priority, team, assignee,
    /// contact, account, lead, source account, and the Message-IDs of its emails (oldest first).
    public static func caseExportJSON(_ conn: PostgresConnection, tenant: TenantID) throws -> [String] {
        try conn.query("""
            SELECT jsonb_build_object(
                'number', c.number, 'name', c.name, 'status', c.status, 'priority', c.priority,
                'team', (SELECT name FROM team t WHERE t.tenant_id = c.tenant_id AND t.id = c.team_id),
                'assignee', (SELECT username FROM app_user u WHERE u.tenant_id = c.tenant_id AND u.id = c.assigned_user_id),
                'contact', (SELECT name FROM contact ct WHERE ct.tenant_id = c.tenant_id AND ct.id = c.contact_id),
                'account', (SELECT name FROM crm_account a WHERE a.tenant_id = c.tenant_id AND a.id = c.account_id),
                'lead', (SELECT name FROM lead l WHERE l.tenant_id = c.tenant_id AND l.id = c.lead_id),
                'source', (SELECT name FROM mail_account m WHERE m.tenant_id = c.tenant_id AND m.id = c.source_account_id),
                'emails', coalesce((SELECT jsonb_agg(e.message_id ORDER BY e.date_sent NULLS LAST, e.id) FROM email e
                                    WHERE e.tenant_id = c.tenant_id AND e.parent_type = 'case' AND e.parent_id = c.id), '[]')
            )::text
            FROM support_case c WHERE c.tenant_id = \(tenant) ORDER BY c.number
            """).map { try $0.decode(String.self, at: 0) }
    }

    /// Follows as {user, record: {type, id}}.
    public static func followExportJSON(_ conn: PostgresConnection, tenant: TenantID) throws -> [String] {
        try conn.query("""
            SELECT jsonb_build_object('user', u.username, 'record', jsonb_build_object('type', f.record_type, 'id', f.record_id))::text
            FROM follow f JOIN app_user u ON u.tenant_id = f.tenant_id AND u.id = f.user_id
            WHERE f.tenant_id = \(tenant) ORDER BY f.record_type, f.record_id, u.username
            """).map { try $0.decode(String.self, at: 0) }
    }

    /// Notifications, oldest first, with the email's Message-ID.
    public static func notificationExportJSON(_ conn: PostgresConnection, tenant: TenantID) throws -> [String] {
        try conn.query("""
            SELECT jsonb_build_object('user', u.username, 'kind', n.kind,
                   'email', (SELECT message_id FROM email e WHERE e.tenant_id = n.tenant_id AND e.id = n.email_id),
                   'record', CASE WHEN n.record_type IS NULL THEN NULL
                                  ELSE jsonb_build_object('type', n.record_type, 'id', n.record_id) END,
                   'data', n.data, 'created_at', n.created_at, 'read', n.read_at IS NOT NULL)::text
            FROM notification n JOIN app_user u ON u.tenant_id = n.tenant_id AND u.id = n.user_id
            WHERE n.tenant_id = \(tenant) ORDER BY n.id
            """).map { try $0.decode(String.self, at: 0) }
    }

    /// Stream entries, oldest first.
    public static func streamExportJSON(_ conn: PostgresConnection, tenant: TenantID) throws -> [String] {
        try conn.query("""
            SELECT jsonb_build_object('record', jsonb_build_object('type', s.record_type, 'id', s.record_id), 'kind', s.kind,
                   'email', (SELECT message_id FROM email e WHERE e.tenant_id = s.tenant_id AND e.id = s.email_id),
                   'data', s.data, 'created_at', s.created_at)::text
            FROM stream_entry s WHERE s.tenant_id = \(tenant) ORDER BY s.id
            """).map { try $0.decode(String.self, at: 0) }
    }
}
