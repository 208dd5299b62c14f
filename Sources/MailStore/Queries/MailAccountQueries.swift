import Foundation
import MailCore
import MailDomain

/// Queries on `mail_account`. Call inside a transaction scoped to the tenant.
public enum MailAccountQueries {
    static let columns = """
        id, kind, name, address, owner_user_id, is_active, imap_host, imap_port, imap_security, imap_verify_tls,
        imap_username, imap_secret, fetch_since::text, keep_unread, max_message_size,
        extract(epoch FROM poll_interval)::float8, case_add_all_team_users,
        (SELECT t.remote_images FROM tenant t WHERE t.id = a.tenant_id), imap_auth, oauth_client_id
        """

    static func decode(_ row: PostgresRow, tenant: TenantID) throws -> MailAccountRecord {
        MailAccountRecord(
            tenantID: tenant, id: try row.decode(at: 0),
            kind: try row.decode(at: 1),
            name: try row.decode(at: 2), address: try row.decode(at: 3), ownerUserID: try row.decode(at: 4),
            isActive: try row.decode(at: 5), imapHost: try row.decode(at: 6), imapPort: try row.decode(at: 7),
            imapSecurity: try row.decode(at: 8), imapVerifyTLS: try row.decode(at: 9), imapUsername: try row.decode(at: 10),
            imapSecret: try row.decode(at: 11), fetchSince: try row.decode(Date?.self, at: 12),
            keepUnread: try row.decode(at: 13), maxMessageSize: try row.decode(at: 14),
            pollInterval: .seconds(try row.decode(Double.self, at: 15)), addAllTeamUsers: try row.decode(at: 16),
            remoteImages: try TenantQueries.remoteImagePolicy(try row.decode(at: 17)),
            imapAuth: try row.decode(at: 18), oauthClientID: try row.decode(at: 19))
    }

    /// Active accounts with IMAP configured, whose owner (for personal accounts) is active too.
    public static func mailAccountListPollable(_ conn: PostgresConnection, tenant: TenantID) throws -> [MailAccountRecord] {
        try conn.query(SQL(unsafeSQL: """
            SELECT \(columns) FROM mail_account a
            WHERE a.tenant_id = $1 AND a.is_active AND a.imap_host IS NOT NULL
              AND (a.owner_user_id IS NULL OR EXISTS (
                    SELECT 1 FROM app_user u WHERE u.tenant_id = a.tenant_id AND u.id = a.owner_user_id AND u.is_active))
            ORDER BY a.id
            """, binds: [tenant.postgresBind])).map { try decode($0, tenant: tenant) }
    }

    /// The INBOX of every pollable account (as `mailAccountListPollable` lists them) whose `idle`
    /// setting is on: the folders the workers watch with IMAP IDLE.
    public static func mailAccountListIdleInboxes(_ conn: PostgresConnection, tenant: TenantID) throws
        -> [(account: MailAccountRecord, folder: FolderID)]
    {
        try conn.query(SQL(unsafeSQL: """
            SELECT \(columns), i.inbox_id FROM mail_account a
            CROSS JOIN LATERAL (
                SELECT f.id AS inbox_id FROM mail_folder f
                WHERE f.tenant_id = a.tenant_id AND f.account_id = a.id AND f.is_active AND upper(f.name) = 'INBOX'
            ) i
            WHERE a.tenant_id = $1 AND a.is_active AND a.idle AND a.imap_host IS NOT NULL
              AND (a.owner_user_id IS NULL OR EXISTS (
                    SELECT 1 FROM app_user u WHERE u.tenant_id = a.tenant_id AND u.id = a.owner_user_id AND u.is_active))
            ORDER BY i.inbox_id
            """, binds: [tenant.postgresBind])).map { (try decode($0, tenant: tenant), try $0.decode(at: 20)) }
    }

    /// Sets the account's `idle` setting; returns 1 when it changed.
    public static func mailAccountSetIdle(_ conn: PostgresConnection, tenant: TenantID, id: AccountID, idle: Bool) throws -> Int {
        try conn.execute("""
            UPDATE mail_account SET idle = \(idle) WHERE tenant_id = \(tenant) AND id = \(id) AND idle IS DISTINCT FROM \(idle)
            """)
    }

    /// The account if it is pollable now (as `mailAccountListPollable` would list it), else nil.
    public static func mailAccountGetPollable(_ conn: PostgresConnection, tenant: TenantID, id: AccountID) throws -> MailAccountRecord? {
        try conn.query(SQL(unsafeSQL: """
            SELECT \(columns) FROM mail_account a
            WHERE a.tenant_id = $1 AND a.id = $2 AND a.is_active AND a.imap_host IS NOT NULL
              AND (a.owner_user_id IS NULL OR EXISTS (
                    SELECT 1 FROM app_user u WHERE u.tenant_id = a.tenant_id AND u.id = a.owner_user_id AND u.is_active))
            """, binds: [tenant.postgresBind, id.postgresBind])).first.map { try decode($0, tenant: tenant) }
    }

    public static func mailAccountGet(_ conn: PostgresConnection, tenant: TenantID, id: AccountID) throws -> MailAccountRecord? {
        try conn.query(SQL(unsafeSQL: "SELECT \(columns) FROM mail_account a WHERE a.tenant_id = $1 AND a.id = $2",
                           binds: [tenant.postgresBind, id.postgresBind])).first.map { try decode($0, tenant: tenant) }
    }

    /// Records (or clears, with nil) the account's connection-level error, e.g. a failed login.
    public static func mailAccountSetError(_ conn: PostgresConnection, tenant: TenantID, id: AccountID, error: String?) throws {
        try conn.execute("""
            UPDATE mail_account SET last_error = \(error)::text,
                   last_error_at = CASE WHEN \(error)::text IS NULL THEN last_error_at ELSE now() END
            WHERE tenant_id = \(tenant) AND id = \(id)
              AND last_error IS DISTINCT FROM \(error)::text
            """)
    }
}

extension MailAccountQueries {
    /// Creates or updates a group account by name; returns its id and 1 when anything changed.
    /// Secrets are written separately (`mailAccountSetSecrets`), after the id is known, because the
    /// sealed value is bound to the row id.
    public static func mailAccountUpsertGroup(_ conn: PostgresConnection, tenant: TenantID, _ s: GroupAccountSettings) throws -> (AccountID, Int) {
        let rows = try conn.query("""
            INSERT INTO mail_account AS a (tenant_id, kind, name, address, display_name, reply_to, is_active,
                imap_host, imap_port, imap_security, imap_verify_tls, imap_username, fetch_since, keep_unread,
                max_message_size, poll_interval, sent_folder, smtp_host, smtp_port, smtp_security, smtp_verify_tls,
                smtp_username, smtp_auth, smtp_shared, smtp_store_sent, case_create, case_distribution, case_team_id,
                case_position, case_assign_user_id, case_add_all_team_users, case_reopen_enabled, case_reopen_status,
                case_number_trust, auto_reply_enabled, auto_reply_subject, auto_reply_body, auto_reply_from_address,
                auto_reply_from_name, auto_reply_reply_to, auto_reply_limit_count, auto_reply_limit_window, imap_auth,
                oauth_client_id, smtp_max_connections)
            VALUES (\(tenant), 'group', \(s.name), \(s.address), \(s.displayName), \(s.replyTo), \(s.isActive),
                \(s.imapHost), \(s.imapPort), \(s.imapSecurity), \(s.imapVerifyTLS), \(s.imapUsername), \(s.fetchSince)::date,
                \(s.keepUnread), \(s.maxMessageSize), make_interval(secs => \(s.pollIntervalSeconds)), \(s.sentFolder),
                \(s.smtpHost), \(s.smtpPort), \(s.smtpSecurity), \(s.smtpVerifyTLS), \(s.smtpUsername), \(s.smtpAuth),
                \(s.smtpShared), \(s.smtpStoreSent), \(s.caseCreate), \(s.caseDistribution), \(s.caseTeamID),
                \(s.casePosition), \(s.caseAssignUserID), \(s.caseAddAllTeamUsers), \(s.caseReopenEnabled),
                \(s.caseReopenStatus), \(s.caseNumberTrust), \(s.autoReplyEnabled), \(s.autoReplySubject),
                \(s.autoReplyBody), \(s.autoReplyFromAddress), \(s.autoReplyFromName), \(s.autoReplyReplyTo),
                \(s.autoReplyLimitCount), make_interval(secs => \(s.autoReplyLimitWindowSeconds)), \(s.imapAuth),
                \(s.oauthClientID), \(s.smtpMaxConnections))
            ON CONFLICT (tenant_id, kind, name) DO UPDATE SET
                address = excluded.address, display_name = excluded.display_name, reply_to = excluded.reply_to,
                is_active = excluded.is_active, imap_host = excluded.imap_host, imap_port = excluded.imap_port,
                imap_security = excluded.imap_security, imap_verify_tls = excluded.imap_verify_tls,
                imap_username = excluded.imap_username, fetch_since = excluded.fetch_since, keep_unread = excluded.keep_unread,
                max_message_size = excluded.max_message_size, poll_interval = excluded.poll_interval,
                sent_folder = excluded.sent_folder, smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port,
                smtp_security = excluded.smtp_security, smtp_verify_tls = excluded.smtp_verify_tls,
                smtp_username = excluded.smtp_username, smtp_auth = excluded.smtp_auth, smtp_shared = excluded.smtp_shared,
                smtp_store_sent = excluded.smtp_store_sent, case_create = excluded.case_create,
                case_distribution = excluded.case_distribution, case_team_id = excluded.case_team_id,
                case_position = excluded.case_position, case_assign_user_id = excluded.case_assign_user_id,
                case_add_all_team_users = excluded.case_add_all_team_users, case_reopen_enabled = excluded.case_reopen_enabled,
                case_reopen_status = excluded.case_reopen_status, case_number_trust = excluded.case_number_trust,
                auto_reply_enabled = excluded.auto_reply_enabled, auto_reply_subject = excluded.auto_reply_subject,
                auto_reply_body = excluded.auto_reply_body, auto_reply_from_address = excluded.auto_reply_from_address,
                auto_reply_from_name = excluded.auto_reply_from_name, auto_reply_reply_to = excluded.auto_reply_reply_to,
                auto_reply_limit_count = excluded.auto_reply_limit_count, auto_reply_limit_window = excluded.auto_reply_limit_window,
                imap_auth = excluded.imap_auth, oauth_client_id = excluded.oauth_client_id,
                smtp_max_connections = excluded.smtp_max_connections, updated_at = now()
            WHERE (a.address, a.display_name, a.reply_to, a.is_active, a.imap_host, a.imap_port, a.imap_security,
                   a.imap_verify_tls, a.imap_username, a.fetch_since, a.keep_unread, a.max_message_size, a.poll_interval,
                   a.sent_folder, a.smtp_host, a.smtp_port, a.smtp_security, a.smtp_verify_tls, a.smtp_username, a.smtp_auth,
                   a.smtp_shared, a.smtp_store_sent, a.case_create, a.case_distribution, a.case_team_id, a.case_position,
                   a.case_assign_user_id, a.case_add_all_team_users, a.case_reopen_enabled, a.case_reopen_status,
                   a.case_number_trust, a.auto_reply_enabled, a.auto_reply_subject, a.auto_reply_body,
                   a.auto_reply_from_address, a.auto_reply_from_name, a.auto_reply_reply_to, a.auto_reply_limit_count,
                   a.auto_reply_limit_window, a.imap_auth, a.oauth_client_id, a.smtp_max_connections)
              IS DISTINCT FROM
                  (excluded.address, excluded.display_name, excluded.reply_to, excluded.is_active, excluded.imap_host,
                   excluded.imap_port, excluded.imap_security, excluded.imap_verify_tls, excluded.imap_username,
                   excluded.fetch_since, excluded.keep_unread, excluded.max_message_size, excluded.poll_interval,
                   excluded.sent_folder, excluded.smtp_host, excluded.smtp_port, excluded.smtp_security,
                   excluded.smtp_verify_tls, excluded.smtp_username, excluded.smtp_auth, excluded.smtp_shared,
                   excluded.smtp_store_sent, excluded.case_create, excluded.case_distribution, excluded.case_team_id,
                   excluded.case_position, excluded.case_assign_user_id, excluded.case_add_all_team_users,
                   excluded.case_reopen_enabled, excluded.case_reopen_status, excluded.case_number_trust,
                   excluded.auto_reply_enabled, excluded.auto_reply_subject, excluded.auto_reply_body,
                   excluded.auto_reply_from_address, excluded.auto_reply_from_name, excluded.auto_reply_reply_to,
                   excluded.auto_reply_limit_count, excluded.auto_reply_limit_window, excluded.imap_auth,
                   excluded.oauth_client_id, excluded.smtp_max_connections)
            RETURNING id
            """)
        if let row = rows.first { return (try row.decode(at: 0), 1) }
        return (try conn.query("SELECT id FROM mail_account WHERE tenant_id = \(tenant) AND kind = 'group' AND name = \(s.name)").one().decode(at: 0), 0)
    }

    public static func mailAccountGetSecrets(_ conn: PostgresConnection, tenant: TenantID, id: AccountID) throws -> (imap: [UInt8]?, smtp: [UInt8]?) {
        let row = try conn.query("SELECT imap_secret, smtp_secret FROM mail_account WHERE tenant_id = \(tenant) AND id = \(id)").one()
        return (try row.decode(at: 0), try row.decode(at: 1))
    }

    public static func mailAccountSetSecrets(_ conn: PostgresConnection, tenant: TenantID, id: AccountID, imap: [UInt8]?, smtp: [UInt8]?) throws -> Int {
        try conn.execute("""
            UPDATE mail_account SET imap_secret = \(imap), smtp_secret = \(smtp), updated_at = now()
            WHERE tenant_id = \(tenant) AND id = \(id) AND (imap_secret, smtp_secret) IS DISTINCT FROM (\(imap)::bytea, \(smtp)::bytea)
            """)
    }

    /// Makes the account's teams exactly `teams`.
    public static func mailAccountTeamsSync(_ conn: PostgresConnection, tenant: TenantID, id: AccountID, teams: [TeamID]) throws -> Int {
        let ids = PostgresArray(teams.map(\.rawValue))
        var n = try conn.execute("""
            INSERT INTO mail_account_team (tenant_id, account_id, team_id) SELECT \(tenant), \(id), t FROM unnest(\(ids)::bigint[]) t
            ON CONFLICT DO NOTHING
            """)
        n += try conn.execute("DELETE FROM mail_account_team WHERE tenant_id = \(tenant) AND account_id = \(id) AND NOT (team_id = ANY(\(ids)::bigint[]))")
        return n
    }

    /// Monitors exactly `folders` (name → target). A folder no longer listed is deactivated, not
    /// deleted: its cursor survives, so listing it again resumes without re-importing.
    public static func mailAccountFoldersSync(_ conn: PostgresConnection, tenant: TenantID, id: AccountID,
                                              folders: [(name: String, target: String)]) throws -> Int {
        let names = PostgresArray(folders.map(\.name))
        let targets = PostgresArray(folders.map(\.target))
        var n = try conn.execute("""
            INSERT INTO mail_folder AS f (tenant_id, account_id, name, target, is_active)
            SELECT \(tenant), \(id), n, t, true FROM unnest(\(names)::text[], \(targets)::text[]) AS x(n, t)
            ON CONFLICT (tenant_id, account_id, name) DO UPDATE SET target = excluded.target, is_active = true
            WHERE (f.target, f.is_active) IS DISTINCT FROM (excluded.target, true)
            """)
        n += try conn.execute("""
            UPDATE mail_folder SET is_active = false
            WHERE tenant_id = \(tenant) AND account_id = \(id) AND is_active AND NOT (name = ANY(\(names)::text[]))
            """)
        return n
    }
}

extension MailAccountQueries {
    /// Finds an account by name (group accounts first) or by address.
    public static func mailAccountFind(_ conn: PostgresConnection, tenant: TenantID, nameOrAddress: String) throws -> AccountID? {
        try conn.query("""
            SELECT id FROM mail_account WHERE tenant_id = \(tenant) AND (name = \(nameOrAddress) OR address = lower(\(nameOrAddress)))
            ORDER BY (name = \(nameOrAddress)) DESC, kind, id LIMIT 1
            """).first?.decode(AccountID.self, at: 0)
    }
}
