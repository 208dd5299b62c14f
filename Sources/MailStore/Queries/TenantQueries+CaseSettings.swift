import MailCore

extension TenantQueries {
    public static func tenantCaseSettings(_ conn: PostgresConnection, tenant: TenantID) throws -> TenantCaseSettings {
        let row = try conn.query("""
            SELECT business_to_consumer, closed_case_statuses FROM tenant WHERE id = \(tenant)
            """).one()
        return TenantCaseSettings(businessToConsumer: try row.decode(at: 0),
                                  closedCaseStatuses: try row.decode(PostgresTextArray.self, at: 1).elements)
    }
}
