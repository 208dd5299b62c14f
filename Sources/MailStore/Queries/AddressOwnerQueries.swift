import MailCore


/// Queries on `email_address_owner`. Call inside a transaction scoped to the tenant.
public enum AddressOwnerQueries {
    /// Every contact, account and lead holding one of `addresses` (lowercase), with each contact's account.
    public static func addressOwnerRecords(_ conn: PostgresConnection, tenant: TenantID, addresses: [String]) throws -> [AddressOwner] {
        guard !addresses.isEmpty else { return [] }
        return try conn.query("""
            SELECT o.address,
                   CASE WHEN o.contact_id IS NOT NULL THEN 'contact' WHEN o.account_id IS NOT NULL THEN 'account' ELSE 'lead' END,
                   coalesce(o.contact_id, o.account_id, o.lead_id), c.account_id, o.is_primary, o.position
            FROM email_address_owner o
            LEFT JOIN contact c ON c.tenant_id = o.tenant_id AND c.id = o.contact_id
            WHERE o.tenant_id = \(tenant) AND o.address = ANY(\(PostgresArray(addresses))::text[]) AND o.user_id IS NULL
            """, prepared: true).map {
            AddressOwner(address: try $0.decode(at: 0), type: try $0.decode(at: 1),
                         id: try $0.decode(at: 2), contactAccountID: try $0.decode(at: 3), isPrimary: try $0.decode(at: 4),
                         position: try $0.decode(at: 5))
        }
    }

    /// Active users holding `address`: how a sender is recognised as one of the tenant's users.
    public static func addressOwnerUsers(_ conn: PostgresConnection, tenant: TenantID, address: String) throws -> [UserID] {
        try conn.query("""
            SELECT o.user_id FROM email_address_owner o
            WHERE o.tenant_id = \(tenant) AND o.address = \(address.lowercased()) AND o.user_id IS NOT NULL ORDER BY o.user_id
            """).map { try $0.decode(at: 0) }
    }
}
