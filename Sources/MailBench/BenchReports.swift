import Foundation
import MailCore
import MailStore

/// The outbound emails that the delivery reports of a mixed corpus (`ingest --compare-reports`)
/// return: provisioned in the round's tenant before its timed import, untimed, so that every report
/// ties to an email the tenant sent (status Sent, one To recipient) as a real bounce does.
enum BenchReports {
    /// Writes one sent email per report index of the corpus: its Message-ID and bounced recipient as
    /// `MessageGenerator` writes them into the report. Rows are written directly (no send job: nothing
    /// is to go out), sent by alice, made an admin so the sender check admits her on the account.
    static func provisionOutbound(pool: PostgresPool, tenant: TenantID, indices: [Int]) async throws {
        let messageIDs = indices.map(MessageGenerator.outboundMessageID)
        let recipients = indices.map(MessageGenerator.bouncedRecipient)
        try await pool.transaction(tenant: tenant) { conn in
            try conn.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'")
            try conn.execute("""
                WITH sent AS (
                    INSERT INTO email (tenant_id, message_id, subject, from_address, status, send_account_id, created_by_user_id,
                                       queued_at, sent_at)
                    SELECT \(tenant), o.message_id, 'Re: your order', a.address, 'Sent', a.id, u.id, now(), now()
                    FROM unnest(\(PostgresArray(messageIDs))::text[]) AS o(message_id),
                         (SELECT id, address FROM mail_account WHERE tenant_id = \(tenant) AND name = 'Bench') a,
                         (SELECT id FROM app_user WHERE tenant_id = \(tenant) AND username = 'alice') u
                    RETURNING id, message_id
                )
                INSERT INTO email_recipient (tenant_id, email_id, kind, position, address)
                SELECT \(tenant), s.id, 'to', 0, r.address
                FROM sent s JOIN unnest(\(PostgresArray(messageIDs))::text[], \(PostgresArray(recipients))::text[]) AS r(message_id, address)
                    ON r.message_id = s.message_id
                """)
        }
    }
}
