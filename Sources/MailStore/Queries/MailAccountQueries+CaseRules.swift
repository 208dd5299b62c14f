import MailCore

extension MailAccountQueries {
    /// The account's Email-to-Case settings.
    public static func mailAccountCaseRules(_ conn: PostgresConnection, tenant: TenantID, id: AccountID) throws -> CaseRules? {
        try conn.query("""
            SELECT case_create, case_distribution, case_team_id, case_position, case_assign_user_id,
                   case_reopen_enabled, case_reopen_status, case_number_trust
            FROM mail_account WHERE tenant_id = \(tenant) AND id = \(id)
            """).first.map {
            CaseRules(create: try $0.decode(at: 0), distribution: try $0.decode(at: 1), teamID: try $0.decode(at: 2),
                      position: try $0.decode(at: 3), assignUserID: try $0.decode(at: 4), reopenEnabled: try $0.decode(at: 5),
                      reopenStatus: try $0.decode(at: 6), numberTrust: try $0.decode(at: 7))
        }
    }
}
