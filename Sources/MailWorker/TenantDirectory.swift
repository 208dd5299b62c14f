import Logging
import MailCore
import MailStore
import Synchronization

/// Tenant slugs by id, for log metadata and metric labels: operators know tenants by slug, jobs and
/// records carry ids. A slug names its tenant in manifests and is never reassigned, so entries are
/// cached for the life of the process.
public final class TenantDirectory: Sendable {
    let pool: PostgresPool
    private let slugs = Mutex<[TenantID: String]>([:])

    public init(pool: PostgresPool) { self.pool = pool }

    /// The tenant's slug; its id as text when the lookup fails (a log line must never fail).
    public func slug(_ id: TenantID) async -> String {
        if let known = slugs.withLock({ $0[id] }) { return known }
        let found = try? await pool.withConnection { try TenantQueries.tenantSlug($0, id: id) }
        guard let slug = found ?? nil else { return "\(id)" }
        slugs.withLock { $0[id] = slug }
        return slug
    }

    /// `logger` with the tenant's slug and id attached, the shape every tenant-scoped line carries.
    public func logger(_ base: Logger, tenant: TenantID) async -> Logger {
        var log = base
        log[metadataKey: "tenant"] = "\(await slug(tenant))"
        log[metadataKey: "tenant_id"] = "\(tenant)"
        return log
    }
}
