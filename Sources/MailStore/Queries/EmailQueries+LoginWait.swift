import Foundation
import MailCore

extension EmailQueries {
    /// When a queued email whose OAuth account needs a new login stops waiting for one and fails:
    /// the tenant's `oauth_send_wait` after the later of its queueing and the grant's entry into
    /// `reauth_required` (migrations/0013_oauth_send_wait.sql). Read at every attempt, so a changed
    /// setting applies to mail already waiting. Nil when the email is gone.
    public static func emailLoginWaitDeadline(_ conn: PostgresConnection, tenant: TenantID, id: EmailID) throws -> Date? {
        try conn.query("""
            SELECT greatest(coalesce(e.queued_at, e.imported_at), CASE WHEN g.state = 'reauth_required' THEN g.state_changed_at END)
                   + t.oauth_send_wait
            FROM email e JOIN tenant t ON t.id = e.tenant_id
            LEFT JOIN oauth_grant g ON g.tenant_id = e.tenant_id AND g.account_id = e.send_account_id
            WHERE e.tenant_id = \(tenant) AND e.id = \(id)
            """).first?.decode(at: 0)
    }
}
