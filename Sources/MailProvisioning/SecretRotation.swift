import MailCore
import MailCrypto
import MailStore

/// Re-seals every stored secret that the current master key did not seal (`mailroom secrets rotate`), and
/// counts what each key still seals (`--check`).
///
/// Work goes tenant by tenant (row-level security is forced on `mail_account`) in batches of `batchSize`
/// accounts, one transaction each, so locks are short and progress is committed as it goes. A value is either
/// its old bytes (still opened by a previous key) or its re-sealed bytes (opened by the current key), never
/// anything else: a run stopped at any point leaves every value readable with current-or-previous keys, and
/// the next run picks up what is left. A value no configured key opens is reported and left as it is.
public struct SecretRotation: Sendable {
    /// One value that could not be re-sealed; `reason` is a log-safe `CryptoError` description.
    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        public var tenant: String
        public var accountID: AccountID
        public var column: String
        public var reason: String
        public var description: String { "tenant \(tenant), mail_account \(accountID.rawValue) \(column): \(reason)" }
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

    /// Re-seals, under the current key, every value of every tenant (or of `only`, by slug) not sealed by it.
    /// `limit` stops after that many values have been re-sealed (to spread the work, or to test resuming).
    public func rotate(pool: PostgresPool, only: Set<String>? = nil, limit: Int? = nil) async throws -> Report {
        var report = Report()
        let header = [UInt8(2)] + secrets.currentKeyID.bytes
        for tenant in try await tenants(pool, only: only) {
            report.tenants += 1
            for column in MailAccountQueries.SealedColumn.allCases {
                var after: AccountID?
                while true {
                    let budget = limit.map { $0 - report.resealed } ?? batchSize
                    if budget <= 0 {
                        report.stoppedAtLimit = true
                        return report
                    }
                    let batch = try await pool.transaction(tenant: tenant.id) { [secrets, batchSize, after] conn in
                        let values = try MailAccountQueries.mailAccountListSealedNotBy(
                            conn, tenant: tenant.id, column: column, header: header, after: after,
                            limit: min(batchSize, budget))
                        var resealed = 0
                        var failures: [Failure] = []
                        for value in values {
                            let context = MailAccountRecord.secretContext(tenant: tenant.id, account: value.accountID,
                                                                          field: column.rawValue)
                            do {
                                guard let new = try secrets.reseal(value.sealed, context: context) else { continue }
                                resealed += try MailAccountQueries.mailAccountResealValue(
                                    conn, tenant: tenant.id, id: value.accountID, column: column, old: value.sealed, new: new)
                            } catch let error as CryptoError {
                                failures.append(Failure(tenant: tenant.slug, accountID: value.accountID,
                                                        column: column.rawValue, reason: error.description))
                            }
                        }
                        return (values.count, values.last?.accountID, resealed, failures)
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
