import Foundation
import Logging
import MailCore
import MailStore

/// Runs a `poll` job: imports new mail of one folder, under the folder's advisory lock. Records the
/// poll lag (from the job's due time to the poll's start, once the lock is held) in `mailroom_poll_lag_seconds`.
///
/// The lock is a session lock held on a connection leased for the whole poll, so a scheduled poll and
/// a manual one, or two replicas, never poll one mailbox at once. If that connection drops mid-poll
/// the lock is gone early; the importer's row lock on the cursor and Message-ID dedupe still keep the
/// data exact, only the no-overlap promise weakens for that one poll.
struct PollJobHandler: JobHandler {
    let pool: PostgresPool
    let importer: ImportRunner
    let worker: String
    let logger: Logger

    struct Payload: Decodable { var folder: Int64; var account: Int64 }

    func handle(_ job: Job) async throws {
        let p = try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8))
        let tenant = job.tenantID, folder = FolderID(p.folder), accountID = AccountID(p.account)
        try await pool.withLeasedConnection { lock in
            let key = AdvisoryLock.folderKey(folder)
            guard try await lock.run({ try $0.tryAdvisoryLock(AdvisoryLock.folderNamespace, key) }) else {
                // Another replica is polling this folder right now; its poll covers whatever is new.
                var log = await importer.tenants.logger(logger, tenant: tenant)
                log[metadataKey: "account_id"] = "\(accountID)"
                log[metadataKey: "folder_id"] = "\(folder)"
                log.debug("folder busy elsewhere")
                return
            }
            do {
                try await pollLocked(tenant: tenant, account: accountID, folder: folder, job: job)
                try await lock.run { try $0.advisoryUnlock(AdvisoryLock.folderNamespace, key) }
            } catch {
                _ = try? await lock.run { try $0.advisoryUnlock(AdvisoryLock.folderNamespace, key) }
                throw error
            }
        }
    }

    private func pollLocked(tenant: TenantID, account: AccountID, folder: FolderID, job: Job) async throws {
        // The account and its folder in one transaction. Only a pollable account: active, and
        // (personal) with an active owner. Disabled or deactivated since the job was scheduled: the
        // reconciler removes its schedule.
        let loaded = try await pool.transaction(tenant: tenant) { conn -> (MailAccountRecord, [MailFolderRecord])? in
            guard let record = try MailAccountQueries.mailAccountGetPollable(conn, tenant: tenant, id: account) else {
                return nil
            }
            return (record, try MailFolderQueries.mailFolderListActive(conn, tenant: tenant, account: account).filter { $0.id == folder })
        }
        guard let (record, folders) = loaded else { return }
        let started = Date()
        if let metrics = importer.metrics {
            metrics.pollStarted(tenant: await importer.tenants.slug(tenant), lag: job.waited + started.timeIntervalSince(job.claimedAt))
        }
        let worker = self.worker
        // The poll log row is written in the transaction that records the poll's end.
        let reports = await importer.pollAccount(record, onlyFolder: folder, folders: folders) { conn, reports in
            let imported = reports.reduce(0) { $0 + $1.imported }
            try PollScheduleQueries.pollLogInsert(conn, tenant: tenant, folder: folder, worker: worker, trigger: "job",
                                                  startedAt: started, finishedAt: Date(), imported: imported,
                                                  error: reports.compactMap(\.error).first)
        }
        if let error = reports.compactMap(\.error).first { throw WorkerError("poll failed: \(error)") }
    }
}

/// A diagnostic job kind: appends its job id to a file and optionally sleeps. Lets tests and
/// operators see exactly how many times each job ran, across replicas.
struct TraceJobHandler: JobHandler {
    struct Payload: Decodable { var file: String; var sleepMilliseconds: Int? }

    func handle(_ job: Job) async throws {
        let p = try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8))
        if let ms = p.sleepMilliseconds, ms > 0 { try await Task.sleep(for: .milliseconds(ms)) }
        let line = "\(job.id) \(job.attempt)\n"
        let fd = open(p.file, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw WorkerError("cannot open trace file") }
        defer { close(fd) }
        // O_APPEND makes each short write land whole, even with several replicas appending.
        _ = line.withCString { write(fd, $0, strlen($0)) }
    }
}
