import MailCore
import MailDomain

extension TenantQueries {
    /// The tenant's `remote_images` setting.
    public static func tenantRemoteImages(_ conn: PostgresConnection, tenant: TenantID) throws -> RemoteImagePolicy {
        try remoteImagePolicy(try conn.query("SELECT remote_images FROM tenant WHERE id = \(tenant)").one().decode(at: 0))
    }

    public static func tenantSetRemoteImages(_ conn: PostgresConnection, tenant: TenantID, _ policy: RemoteImagePolicy) throws {
        try conn.execute("UPDATE tenant SET remote_images = \(policy.rawValue), updated_at = now() WHERE id = \(tenant)")
    }

    /// Decodes `tenant.remote_images`; a value the CHECK constraint would not let in (a newer
    /// schema, a hand edit with the constraint dropped) is an error, never a default.
    static func remoteImagePolicy(_ raw: String) throws -> RemoteImagePolicy {
        guard let policy = RemoteImagePolicy(rawValue: raw) else {
            throw PostgresError(code: .decodingFailed, message: "tenant.remote_images holds an unknown value \"\(raw)\" (allow | block)")
        }
        return policy
    }
}
