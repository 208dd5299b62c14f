import MailCore
import MailCrypto
import MailStore

/// A webhook endpoint added the way `mailroom apply` adds one: the row, then its secret sealed against
/// the row. For runs (chaos, benchmarks) that point a tenant's events at a `TestWebhookReceiver`.
public enum TestWebhookEndpoint {
    @discardableResult
    public static func add(_ pool: PostgresPool, tenant: TenantID, name: String, url: String, secret: Secret, box: SecretBox,
                           types: [String] = [], retryWindow: Double = 3 * 86_400, batchSize: Int = 1) async throws -> Int64 {
        try await pool.transaction(tenant: tenant) { conn in
            let (id, _) = try WebhookQueries.webhookUpsert(conn, tenant: tenant, .init(name: name, url: url, eventTypes: types,
                                                                                        retryWindow: retryWindow, batchSize: batchSize))
            let sealed = try box.seal(secret, context: WebhookEndpointRecord.secretContext(tenant: tenant, endpoint: id))
            _ = try WebhookQueries.webhookSetSecret(conn, tenant: tenant, id: id, secret: sealed)
            return id
        }
    }
}
