import MailCore

extension MailAccountQueries {
    /// The account's Email-to-Case settings.
    public static func mailAccountCaseRules(_ conn: PostgresConnection, tenant: TenantID, id: AccountID) throws -> CaseRules? {
        try conn.query("""
            SELECT case_create, case_distribution, case_team_id, case_position, case_assign_user_id,
                   case_reopen_enabled, case_reopen_status, case_number_trust, case_sender_limit_cases,
                   case_sender_limit_reopens, extract(epoch FROM case_sender_limit_window)::bigint
            FROM mail_account WHERE tenant_id = \(tenant) AND id = \(id)
            """).first.map {
            CaseRules(create: try $0.decode(at: 0), distribution: try $0.decode(at: 1), teamID: try $0.decode(at: 2),
                      position: try $0.decode(at: 3), assignUserID: try $0.decode(at: 4), reopenEnabled: try $0.decode(at: 5),
                      reopenStatus: try $0.decode(at: 6), numberTrust: try $0.decode(at: 7),
                      senderLimit: SenderLimit(cases: try $0.decode(at: 8), reopens: try $0.decode(at: 9),
                                               window: .seconds(try $0.decode(Int64.self, at: 10))))
        }
    }

    /// Sets the account's storm breaker limits (`case.sender_limit`); returns 1 when they changed.
    public static func mailAccountSetSenderLimit(_ conn: PostgresConnection, tenant: TenantID, id: AccountID,
                                                 _ limit: SenderLimit) throws -> Int {
        try conn.query("""
            UPDATE mail_account SET case_sender_limit_cases = \(limit.cases), case_sender_limit_reopens = \(limit.reopens),
                   case_sender_limit_window = make_interval(secs => \(limit.window.components.seconds)), updated_at = now()
            WHERE tenant_id = \(tenant) AND id = \(id)
              AND (case_sender_limit_cases, case_sender_limit_reopens, case_sender_limit_window)
                  IS DISTINCT FROM (\(limit.cases), \(limit.reopens), make_interval(secs => \(limit.window.components.seconds)))
            RETURNING 1
            """).count
    }
}
