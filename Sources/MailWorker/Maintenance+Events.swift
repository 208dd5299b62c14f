import Foundation
import Logging
import MailCore
import MailStore

extension Maintenance {
    /// Writes `folder.stalled` once for each folder that stopped importing
    /// (`MailFolderQueries.mailFolderMarkStalled` says which and for how long), one transaction per
    /// active tenant: the mark and the events commit together, so a crash between them reports the
    /// stall at the next round instead of never or twice. A tenant that fails is logged with its slug
    /// and tried again at the next round; the others go on.
    public func reportStalledFolders(now: Date = Date()) async {
        guard let tenants = await listTenants(all: false, for: "stall check") else { return }
        for t in tenants {
            do {
                try await reportStalledFolders(of: t, now: now)
            } catch {
                logger.error("stall check failed", metadata: ["tenant": "\(t.slug)", "tenant_id": "\(t.id)", "error": "\(error)"])
            }
        }
    }

    /// `reportStalledFolders` for one tenant, in one transaction.
    func reportStalledFolders(of t: TenantQueries.Tenant, now: Date) async throws {
        let stalled = try await pool.transaction(tenant: t.id) { conn in
            let stalled = try MailFolderQueries.mailFolderMarkStalled(conn, tenant: t.id, now: now)
            for folder in stalled {
                try EventQueries.emit(conn, tenant: t.id, type: FolderStalledEvent.type,
                                      payload: try FolderStalledEvent(folder, detectedAt: now).json())
            }
            return stalled
        }
        for folder in stalled {
            logger.warning("folder stalled", metadata: [
                "tenant": "\(t.slug)", "tenant_id": "\(t.id)", "account_id": "\(folder.accountID)",
                "folder_id": "\(folder.id)", "stalled_after_seconds": "\(folder.stalledAfterSeconds)"])
        }
    }

    /// Deletes each tenant's events older than its `event_retention`, in transactions of at most
    /// `eventPruneBatch` events and at most `eventPruneBatchesPerRound` of them per tenant: the rest
    /// waits for the next round. Every tenant, active or not (an inactive tenant's events age too).
    public func pruneEvents(now: Date = Date()) async {
        guard let tenants = await listTenants(all: true, for: "event pruning") else { return }
        let batch = config.eventPruneBatch
        for t in tenants {
            var total = 0
            do {
                for _ in 0..<config.eventPruneBatchesPerRound {
                    let pruned = try await pool.transaction(tenant: t.id) {
                        try EventQueries.pruneExpired($0, tenant: t.id, now: now, limit: batch)
                    }
                    total += pruned
                    if pruned < batch { break }
                }
            } catch {
                logger.error("event pruning failed", metadata: ["tenant": "\(t.slug)", "tenant_id": "\(t.id)", "error": "\(error)"])
            }
            if total > 0 { logger.info("pruned expired events", metadata: ["tenant": "\(t.slug)", "tenant_id": "\(t.id)", "count": "\(total)"]) }
        }
    }
}

extension Maintenance {
    /// The tenants to visit (every one, or the active ones); nil, logged, when they cannot be listed.
    func listTenants(all: Bool, for task: String) async -> [TenantQueries.Tenant]? {
        do {
            return try await pool.withConnection { all ? try TenantQueries.tenantListAll($0) : try TenantQueries.tenantListActive($0) }
        } catch {
            logger.error("\(task) failed: cannot list tenants", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

/// The payload of `folder.stalled` (docs/events/folder.stalled.json), the one event no table change
/// carries: the workers' maintenance writes it.
struct FolderStalledEvent: Encodable {
    static let type = "folder.stalled"

    var folderID: Int64
    var accountID: Int64
    var name: String
    var lastSuccessAt: Date?
    var pollIntervalSeconds: Int
    var stalledAfterSeconds: Int
    var detectedAt: Date

    init(_ f: MailFolderQueries.StalledFolder, detectedAt: Date) {
        folderID = f.id.rawValue
        accountID = f.accountID.rawValue
        name = f.name
        lastSuccessAt = f.lastSuccessAt
        pollIntervalSeconds = f.pollIntervalSeconds
        stalledAfterSeconds = f.stalledAfterSeconds
        self.detectedAt = detectedAt
    }

    enum CodingKeys: String, CodingKey {
        case folderID = "folder_id", accountID = "account_id", name, lastSuccessAt = "last_success_at"
        case pollIntervalSeconds = "poll_interval_seconds", stalledAfterSeconds = "stalled_after_seconds"
        case detectedAt = "detected_at"
    }

    /// Every key present, null for a folder never polled successfully (as the triggers' payloads).
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(folderID, forKey: .folderID)
        try c.encode(accountID, forKey: .accountID)
        try c.encode(name, forKey: .name)
        try c.encode(lastSuccessAt, forKey: .lastSuccessAt)
        try c.encode(pollIntervalSeconds, forKey: .pollIntervalSeconds)
        try c.encode(stalledAfterSeconds, forKey: .stalledAfterSeconds)
        try c.encode(detectedAt, forKey: .detectedAt)
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
