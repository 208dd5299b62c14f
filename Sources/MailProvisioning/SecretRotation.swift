import MailCore
import MailCrypto
import MailStore

/// Re-seals every stored secret that the current master key did not seal (`mailroom secrets rotate`), and
/// counts what each key still seals (`--check`): accounts' passwords (`mail_account.imap_secret`,
/// `smtp_secret`), OAuth client secrets (`oauth_client.client_secret`) and webhook secrets (`webhook_endpoint.secret`) under the credentials key, OAuth
/// tokens (`oauth_grant.refresh_token`, `access_token`) under the oauth-token key of the same keyring.
///
/// Work goes tenant by tenant (row-level security is forced on every tenant table) in batches of `batchSize`
/// rows, one transaction each, so locks are short and progress is committed as it goes. A value is either
/// its old bytes (still opened by a previous key) or its re-sealed bytes (opened by the current key), never
/// anything else: a run stopped at any point leaves every value readable with current-or-previous keys, and
/// the next run picks up what is left. A value no configured key opens is reported and left as it is.
public struct SecretRotation: Sendable {
    /// One value that could not be re-sealed; `reason` is a log-safe `CryptoError` description.
    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        public var tenant: String
        /// `mail_account`, `oauth_client` or `oauth_grant`.
        public var table: String
        /// The row's id (`oauth_grant`: its account's id).
        public var rowID: Int64
        public var column: String
        public var reason: String
        /// The account, for `mail_account` and `oauth_grant` rows.
        public var accountID: AccountID { AccountID(rowID) }
        public var description: String { "tenant \(tenant), \(table) \(rowID) \(column): \(reason)" }
    }

    /// What one `rotate` did.
    public struct Report: Sendable, Equatable {
        public var tenants = 0
        public var resealed = 0
        public var failures: [Failure] = []
        /// True when `limit` stopped the run before every value was visited.
        public var stoppedAtLimit = false
    }

    /// How many values one sealer holds across all tenants and columns.
    public struct SealerCount: Sendable, Equatable {
        public enum Role: String, Sendable { case current, previous, legacy, unknown }
        public var sealer: SecretBox.Sealer
        public var role: Role
        public var count: Int
    }

    public let secrets: SecretBox
    public var batchSize: Int

    public init(secrets: SecretBox, batchSize: Int = 100) {
        self.secrets = secrets
        self.batchSize = max(1, batchSize)
    }

    /// One sealed column: how to list the values not sealed by the current key, how to swap one, and
    /// the box and context that open it.
    private struct Target: Sendable {
        var table: String
        var column: String
        var box: SecretBox
        var context: @Sendable (TenantID, Int64) -> String
        var list: @Sendable (PostgresConnection, TenantID, [UInt8], Int64?, Int) throws -> [(Int64, [UInt8])]
        var swap: @Sendable (PostgresConnection, TenantID, Int64, [UInt8], [UInt8]) throws -> Int
    }

    private var targets: [Target] {
        let tokens = SecretBox(keyring: secrets.keyring, purpose: .oauthToken)
        let accounts = MailAccountQueries.SealedColumn.allCases.map { column in
            Target(table: "mail_account", column: column.rawValue, box: secrets,
                   context: { MailAccountRecord.secretContext(tenant: $0, account: AccountID($1), field: column.rawValue) },
                   list: { conn, tenant, header, after, limit in
                       try MailAccountQueries.mailAccountListSealedNotBy(
                           conn, tenant: tenant, column: column, header: header, after: after.map(AccountID.init), limit: limit)
                           .map { ($0.accountID.rawValue, $0.sealed) }
                   },
                   swap: { conn, tenant, id, old, new in
                       try MailAccountQueries.mailAccountResealValue(conn, tenant: tenant, id: AccountID(id), column: column, old: old, new: new)
                   })
        }
        let client = Target(
            table: "oauth_client", column: "client_secret", box: secrets,
            context: { OAuthClientRecord.secretContext(tenant: $0, client: $1) },
            list: { conn, tenant, header, after, limit in
                try OAuthClientQueries.clientListSealedNotBy(conn, tenant: tenant, header: header, after: after, limit: limit)
                    .map { ($0.id, $0.sealed) }
            },
            swap: { conn, tenant, id, old, new in
                try OAuthClientQueries.clientResealSecret(conn, tenant: tenant, id: id, old: old, new: new)
            })
        let grants = OAuthGrantQueries.SealedColumn.allCases.map { column in
            Target(table: "oauth_grant", column: column.rawValue, box: tokens,
                   context: { OAuthGrantRecord.tokenContext(tenant: $0, account: AccountID($1), field: column.rawValue) },
                   list: { conn, tenant, header, after, limit in
                       try OAuthGrantQueries.grantListSealedNotBy(
                           conn, tenant: tenant, column: column, header: header, after: after.map(AccountID.init), limit: limit)
                           .map { ($0.account.rawValue, $0.sealed) }
                   },
                   swap: { conn, tenant, id, old, new in
                       try OAuthGrantQueries.grantResealValue(conn, tenant: tenant, account: AccountID(id), column: column, old: old, new: new)
                   })
        }
        let webhook = Target(
            table: "webhook_endpoint", column: "secret", box: secrets,
            context: { WebhookEndpointRecord.secretContext(tenant: $0, endpoint: $1) },
            list: { conn, tenant, header, after, limit in
                try WebhookQueries.webhookListSealedNotBy(conn, tenant: tenant, header: header, after: after, limit: limit)
                    .map { ($0.id, $0.sealed) }
            },
            swap: { conn, tenant, id, old, new in
                try WebhookQueries.webhookResealSecret(conn, tenant: tenant, id: id, old: old, new: new)
            })
        return accounts + [client, webhook] + grants
    }

    /// Re-seals, under the current key, every value of every tenant (or of `only`, by slug) not sealed by it.
    /// `limit` stops after that many values have been re-sealed (to spread the work, or to test resuming).
    public func rotate(pool: PostgresPool, only: Set<String>? = nil, limit: Int? = nil) async throws -> Report {
        var report = Report()
        let header = [UInt8(2)] + secrets.currentKeyID.bytes
        let targets = self.targets
        for tenant in try await tenants(pool, only: only) {
            report.tenants += 1
            for target in targets {
                var after: Int64?
                while true {
                    let budget = limit.map { $0 - report.resealed } ?? batchSize
                    if budget <= 0 {
                        report.stoppedAtLimit = true
                        return report
                    }
                    let batch = try await pool.transaction(tenant: tenant.id) { [batchSize, after] conn in
                        let values = try target.list(conn, tenant.id, header, after, min(batchSize, budget))
                        var resealed = 0
                        var failures: [Failure] = []
                        for (id, sealed) in values {
                            do {
                                guard let new = try target.box.reseal(sealed, context: target.context(tenant.id, id)) else { continue }
                                resealed += try target.swap(conn, tenant.id, id, sealed, new)
                            } catch let error as CryptoError {
                                failures.append(Failure(tenant: tenant.slug, table: target.table, rowID: id,
                                                        column: target.column, reason: error.description))
                            }
                        }
                        return (values.count, values.last?.0, resealed, failures)
                    }
                    report.resealed += batch.2
                    report.failures += batch.3
                    after = batch.1
                    if batch.0 < min(batchSize, budget) { break }
                }
            }
        }
        return report
    }

    /// How many values each sealer holds, over every tenant (or `only`), the current key first.
    public func check(pool: PostgresPool, only: Set<String>? = nil) async throws -> [SealerCount] {
        var counts: [SecretBox.Sealer: Int] = [:]
        for tenant in try await tenants(pool, only: only) {
            let rows = try await pool.transaction(tenant: tenant.id) {
                try MailAccountQueries.mailAccountCountSealers($0, tenant: tenant.id).map { ($0.header, $0.count) }
                    + OAuthClientQueries.clientCountSealers($0, tenant: tenant.id)
                    + OAuthGrantQueries.grantCountSealers($0, tenant: tenant.id)
            }
            for (header, count) in rows { counts[Self.sealer(header: header), default: 0] += count }
        }
        let current = secrets.currentKeyID
        let previous = Set(secrets.keyring.previous.map(\.keyID))
        let out = counts.map { sealer, count in
            let role: SealerCount.Role = switch sealer {
            case .key(current): .current
            case .key(let id) where previous.contains(id): .previous
            case .legacy: .legacy
            default: .unknown
            }
            return SealerCount(sealer: sealer, role: role, count: count)
        }
        let order: [SealerCount.Role: Int] = [.current: 0, .previous: 1, .legacy: 2, .unknown: 3]
        return out.sorted { (order[$0.role]!, $0.sealer.description) < (order[$1.role]!, $1.sealer.description) }
    }

    static func sealer(header: [UInt8]) -> SecretBox.Sealer {
        switch header.first {
        case 1: .legacy
        case 2: KeyID(header: header.dropFirst()).map { .key($0) } ?? .unreadable
        default: .unreadable
        }
    }

    private func tenants(_ pool: PostgresPool, only: Set<String>?) async throws -> [TenantQueries.Tenant] {
        let all = try await pool.withConnection { try TenantQueries.tenantListAll($0) }
        guard let only else { return all }
        return all.filter { only.contains($0.slug) }
    }
}
