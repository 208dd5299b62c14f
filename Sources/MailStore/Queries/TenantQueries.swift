import MailCore

/// Queries on `tenant`. The tenant table has no row-level policy: the worker enumerates it to find work.
public enum TenantQueries {
    public struct Tenant: Sendable, Equatable {
        public var id: TenantID
        public var slug: String
        public var name: String
    }

    public static func tenantListActive(_ conn: PostgresConnection) throws -> [Tenant] {
        try conn.query("SELECT id, slug, name FROM tenant WHERE is_active ORDER BY id").map {
            Tenant(id: try $0.decode(at: 0), slug: try $0.decode(at: 1), name: try $0.decode(at: 2))
        }
    }

    /// Switches the tenant's events on or off (`tenant.events_enabled`, docs/events.md): off, its
    /// changes write none. Owner only (the service and the CRM may not change a tenant's settings).
    public static func tenantSetEventsEnabled(_ conn: PostgresConnection, tenant: TenantID, enabled: Bool) throws {
        try conn.execute("UPDATE tenant SET events_enabled = \(enabled) WHERE id = \(tenant)")
    }

    /// Every tenant, active or not: for maintenance that must reach all stored data (key rotation).
    public static func tenantListAll(_ conn: PostgresConnection) throws -> [Tenant] {
        try conn.query("SELECT id, slug, name FROM tenant ORDER BY id").map {
            Tenant(id: try $0.decode(at: 0), slug: try $0.decode(at: 1), name: try $0.decode(at: 2))
        }
    }

    public static func tenantGetBySlug(_ conn: PostgresConnection, slug: String) throws -> Tenant? {
        try conn.query("SELECT id, slug, name FROM tenant WHERE slug = \(slug)").first.map {
            Tenant(id: try $0.decode(at: 0), slug: try $0.decode(at: 1), name: try $0.decode(at: 2))
        }
    }

    /// The tenant's slug, whatever its state; nil when no such tenant exists.
    public static func tenantSlug(_ conn: PostgresConnection, id: TenantID) throws -> String? {
        try conn.query("SELECT slug FROM tenant WHERE id = \(id)").first.map { try $0.decode(String.self, at: 0) }
    }
}
