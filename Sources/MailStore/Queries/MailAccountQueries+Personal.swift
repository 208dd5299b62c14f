import Foundation
import MailCore

extension MailAccountQueries {
    /// The administrator-set columns of a personal account (no case or auto-reply settings).
    public struct PersonalAccountSettings: Sendable, Equatable {
        public var name: String, owner: UserID, address: String, isActive: Bool
        public var imapHost: String, imapPort: Int, imapSecurity: String, imapVerifyTLS: Bool, imapUsername: String
        public var fetchSince: String?, keepUnread: Bool, maxMessageSize: Int, pollIntervalSeconds: Int, sentFolder: String?
        public var smtpHost: String?, smtpPort: Int?, smtpSecurity: String, smtpVerifyTLS: Bool, smtpUsername: String?
        public var smtpAuth: String
        /// `password` or `oauth2`.
        public var imapAuth = "password"
        /// The OAuth client (`oauth_client.id`) when IMAP or SMTP logs in with a token.
        public var oauthClientID: Int64?
        public var smtpMaxConnections = 3

        public init(name: String, owner: UserID, address: String, isActive: Bool, imapHost: String, imapPort: Int,
                    imapSecurity: String, imapVerifyTLS: Bool, imapUsername: String, fetchSince: String?, keepUnread: Bool,
                    maxMessageSize: Int, pollIntervalSeconds: Int, sentFolder: String?, smtpHost: String?, smtpPort: Int?,
                    smtpSecurity: String, smtpVerifyTLS: Bool, smtpUsername: String?, smtpAuth: String) {
            self.name = name; self.owner = owner; self.address = address; self.isActive = isActive
            self.imapHost = imapHost; self.imapPort = imapPort; self.imapSecurity = imapSecurity
            self.imapVerifyTLS = imapVerifyTLS; self.imapUsername = imapUsername; self.fetchSince = fetchSince
            self.keepUnread = keepUnread; self.maxMessageSize = maxMessageSize
            self.pollIntervalSeconds = pollIntervalSeconds; self.sentFolder = sentFolder; self.smtpHost = smtpHost
            self.smtpPort = smtpPort; self.smtpSecurity = smtpSecurity; self.smtpVerifyTLS = smtpVerifyTLS
            self.smtpUsername = smtpUsername; self.smtpAuth = smtpAuth
        }
    }

    /// Creates or updates a personal account by name; returns its id and 1 when anything changed.
    /// The per-owner cap (`tenant.max_personal_accounts`) is enforced by a trigger: exceeding it
    /// fails with a message naming the cap.
    public static func mailAccountUpsertPersonal(_ conn: PostgresConnection, tenant: TenantID,
                                                 _ s: PersonalAccountSettings) throws -> (AccountID, Int) {
        let rows = try conn.query("""
            INSERT INTO mail_account AS a (tenant_id, kind, owner_user_id, name, address, is_active, imap_host, imap_port,
                imap_security, imap_verify_tls, imap_username, fetch_since, keep_unread, max_message_size, poll_interval,
                sent_folder, smtp_host, smtp_port, smtp_security, smtp_verify_tls, smtp_username, smtp_auth,
                imap_auth, oauth_client_id, smtp_max_connections)
            VALUES (\(tenant), 'personal', \(s.owner), \(s.name), \(s.address), \(s.isActive), \(s.imapHost), \(s.imapPort),
                \(s.imapSecurity), \(s.imapVerifyTLS), \(s.imapUsername), \(s.fetchSince)::date, \(s.keepUnread),
                \(s.maxMessageSize), make_interval(secs => \(s.pollIntervalSeconds)), \(s.sentFolder), \(s.smtpHost),
                \(s.smtpPort), \(s.smtpSecurity), \(s.smtpVerifyTLS), \(s.smtpUsername), \(s.smtpAuth),
                \(s.imapAuth), \(s.oauthClientID), \(s.smtpMaxConnections))
            ON CONFLICT (tenant_id, kind, name) DO UPDATE SET
                owner_user_id = excluded.owner_user_id, address = excluded.address, is_active = excluded.is_active,
                imap_host = excluded.imap_host, imap_port = excluded.imap_port, imap_security = excluded.imap_security,
                imap_verify_tls = excluded.imap_verify_tls, imap_username = excluded.imap_username,
                fetch_since = excluded.fetch_since, keep_unread = excluded.keep_unread,
                max_message_size = excluded.max_message_size, poll_interval = excluded.poll_interval,
                sent_folder = excluded.sent_folder, smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port,
                smtp_security = excluded.smtp_security, smtp_verify_tls = excluded.smtp_verify_tls,
                smtp_username = excluded.smtp_username, smtp_auth = excluded.smtp_auth, imap_auth = excluded.imap_auth,
                oauth_client_id = excluded.oauth_client_id, smtp_max_connections = excluded.smtp_max_connections,
                updated_at = now()
            WHERE (a.owner_user_id, a.address, a.is_active, a.imap_host, a.imap_port, a.imap_security, a.imap_verify_tls,
                   a.imap_username, a.fetch_since, a.keep_unread, a.max_message_size, a.poll_interval, a.sent_folder,
                   a.smtp_host, a.smtp_port, a.smtp_security, a.smtp_verify_tls, a.smtp_username, a.smtp_auth, a.imap_auth,
                   a.oauth_client_id, a.smtp_max_connections)
              IS DISTINCT FROM
                  (excluded.owner_user_id, excluded.address, excluded.is_active, excluded.imap_host, excluded.imap_port,
                   excluded.imap_security, excluded.imap_verify_tls, excluded.imap_username, excluded.fetch_since,
                   excluded.keep_unread, excluded.max_message_size, excluded.poll_interval, excluded.sent_folder,
                   excluded.smtp_host, excluded.smtp_port, excluded.smtp_security, excluded.smtp_verify_tls,
                   excluded.smtp_username, excluded.smtp_auth, excluded.imap_auth, excluded.oauth_client_id,
                   excluded.smtp_max_connections)
            RETURNING id
            """)
        if let row = rows.first { return (try row.decode(at: 0), 1) }
        return (try conn.query("SELECT id FROM mail_account WHERE tenant_id = \(tenant) AND kind = 'personal' AND name = \(s.name)").one().decode(at: 0), 0)
    }
}
