import MailCore

/// Read-only queries behind `mailroom export`. Postgres builds the JSON, so the export reflects exactly
/// what is stored and never includes secrets (no account credential column is read).
public enum ExportQueries {
    /// An exported email: its JSON object (without bodies) and its bodies, which the caller adds
    /// (the sanitised HTML is computed by the caller when the stored copy is missing).
    public struct EmailExport: Sendable {
        public var json: String
        public var bodyText: String?
        public var bodyHTML: String?
        public var bodyHTMLSafe: String?
    }

    /// One entry per email of the tenant, oldest first.
    public static func emailExportJSON(_ conn: PostgresConnection, tenant: TenantID) throws -> [EmailExport] {
        try conn.query("""
            SELECT jsonb_build_object(
                'message_id', e.message_id,
                'message_id_synthetic', e.message_id_synthetic,
                'subject', e.subject,
                'from', (SELECT jsonb_build_object('address', r.address, 'name', r.name) FROM email_recipient r
                         WHERE r.tenant_id = e.tenant_id AND r.email_id = e.id AND r.kind = 'from' ORDER BY r.position LIMIT 1),
                'to', \(unsafeRaw: addressList("to")),
                'cc', \(unsafeRaw: addressList("cc")),
                'reply_to', \(unsafeRaw: addressList("reply_to")),
                'date_sent', e.date_sent,
                'date_received', e.date_received,
                'status', e.status,
                'size', e.size,
                'header_only', e.is_header_only,
                'note', e.import_note,
                'in_reply_to', e.in_reply_to,
                'parent', CASE WHEN e.parent_type IS NULL THEN NULL
                               ELSE jsonb_build_object('type', e.parent_type, 'id', e.parent_id) END,
                'accounts', coalesce((SELECT jsonb_agg(jsonb_build_object('name', a.name, 'address', a.address, 'kind', a.kind,
                                                                          'folder', f.name, 'uid', l.uid,
                                                                          'group_folder', l.group_folder) ORDER BY a.name)
                                      FROM email_account_link l JOIN mail_account a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
                                      LEFT JOIN mail_folder f ON f.tenant_id = l.tenant_id AND f.id = l.folder_id
                                      WHERE l.tenant_id = e.tenant_id AND l.email_id = e.id), '[]'),
                'users', coalesce((SELECT jsonb_agg(jsonb_build_object('username', u.username, 'read', eu.is_read,
                                                                       'important', eu.is_important, 'trash', eu.in_trash,
                                                                       'folder', eu.folder, 'notify', eu.notify) ORDER BY u.username)
                                   FROM email_user eu JOIN app_user u ON u.tenant_id = eu.tenant_id AND u.id = eu.user_id
                                   WHERE eu.tenant_id = e.tenant_id AND eu.email_id = e.id), '[]'),
                'teams', coalesce((SELECT jsonb_agg(t.name ORDER BY t.name) FROM email_team et
                                   JOIN team t ON t.tenant_id = et.tenant_id AND t.id = et.team_id
                                   WHERE et.tenant_id = e.tenant_id AND et.email_id = e.id), '[]'),
                'attachments', coalesce((SELECT jsonb_agg(jsonb_build_object('name', at.filename, 'size', at.size,
                                                                             'content_type', at.content_type, 'content_id', at.content_id,
                                                                             'inline', at.is_inline) ORDER BY at.position)
                                         FROM attachment at WHERE at.tenant_id = e.tenant_id AND at.email_id = e.id), '[]')
            )::text, e.body_text, e.body_html, e.body_html_safe
            FROM email e
            WHERE e.tenant_id = \(tenant)
            ORDER BY e.date_sent NULLS LAST, e.id
            """).map {
                EmailExport(json: try $0.decode(at: 0), bodyText: try $0.decode(at: 1), bodyHTML: try $0.decode(at: 2),
                            bodyHTMLSafe: try $0.decode(at: 3))
            }
    }

    private static func addressList(_ kind: String) -> String {
        """
        coalesce((SELECT jsonb_agg(jsonb_build_object('address', r.address, 'name', r.name) ORDER BY r.position)
                  FROM email_recipient r WHERE r.tenant_id = e.tenant_id AND r.email_id = e.id AND r.kind = '\(kind)'), '[]')
        """
    }


    /// Personal accounts with owner, folders (IMAP folder → owner's folder) and counters; no credentials.
    public static func personalAccountExport(_ conn: PostgresConnection, tenant: TenantID) throws -> [String] {
        try conn.query("""
            SELECT jsonb_build_object(
                'name', a.name, 'owner', u.username, 'address', a.address, 'active', a.is_active,
                'folders', coalesce((SELECT jsonb_agg(jsonb_build_object('name', f.name, 'target', f.target,
                                                                         'imported', f.messages_imported,
                                                                         'skipped', f.messages_skipped) ORDER BY f.name)
                                     FROM mail_folder f WHERE f.tenant_id = a.tenant_id AND f.account_id = a.id AND f.is_active), '[]')
            )::text
            FROM mail_account a JOIN app_user u ON u.tenant_id = a.tenant_id AND u.id = a.owner_user_id
            WHERE a.tenant_id = \(tenant) AND a.kind = 'personal'
            ORDER BY a.name
            """).map { try $0.decode(String.self, at: 0) }
    }

    public static func importFailureExport(_ conn: PostgresConnection, tenant: TenantID) throws -> [String] {
        try conn.query("""
            SELECT jsonb_build_object('account', a.name, 'folder', fo.name, 'uidvalidity', f.uidvalidity, 'uid', f.uid,
                                      'stage', f.stage, 'reason', f.reason, 'attempts', f.attempts, 'state', f.state,
                                      'next_attempt_at', f.next_attempt_at)::text
            FROM import_failure f
            JOIN mail_account a ON a.tenant_id = f.tenant_id AND a.id = f.account_id
            JOIN mail_folder fo ON fo.tenant_id = f.tenant_id AND fo.id = f.folder_id
            WHERE f.tenant_id = \(tenant) AND f.state <> 'resolved'
            ORDER BY f.id
            """).map { try $0.decode(String.self, at: 0) }
    }

    /// Per account and folder: imported and failed counts and the last error, for summaries.
    public struct FolderSummary: Sendable {
        public var folderID: FolderID
        public var tenant: String
        public var account: String
        public var folder: String
        public var emails: Int
        public var failures: Int
        public var lastError: String?
    }

    public static func folderSummary(_ conn: PostgresConnection, tenant: TenantID) throws -> [FolderSummary] {
        try conn.query("""
            SELECT f.id, t.slug, a.name, f.name,
                   (SELECT count(*) FROM email_account_link l WHERE l.tenant_id = f.tenant_id AND l.folder_id = f.id),
                   (SELECT count(*) FROM import_failure x WHERE x.tenant_id = f.tenant_id AND x.folder_id = f.id AND x.state <> 'resolved'),
                   coalesce(f.last_error, a.last_error)
            FROM mail_folder f
            JOIN mail_account a ON a.tenant_id = f.tenant_id AND a.id = f.account_id
            JOIN tenant t ON t.id = f.tenant_id
            WHERE f.tenant_id = \(tenant)
            ORDER BY a.name, f.name
            """).map {
            FolderSummary(folderID: try $0.decode(at: 0), tenant: try $0.decode(at: 1), account: try $0.decode(at: 2),
                          folder: try $0.decode(at: 3), emails: try $0.decode(at: 4), failures: try $0.decode(at: 5),
                          lastError: try $0.decode(at: 6))
        }
    }
}
