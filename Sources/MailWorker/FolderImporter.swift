import Foundation
import Logging
import MailCore
import MailDomain
import MailMIME
import MailProtocol
import MailStore
import MailTransport
import Tracing

/// Imports new mail of one IMAP folder into Postgres, exactly once.
///
/// Order of a poll: EXAMINE → decide (pure `FolderSyncPlan`) → retry due failures → list UIDs above
/// the cursor → in batches: fetch metadata, fetch bodies, parse, then one transaction stores the
/// batch, records its failures and moves the cursor. Fetching batch N+1 overlaps storing batch N.
/// A crash at any point loses nothing (the cursor never passes an uncommitted message) and
/// duplicates nothing (Message-ID dedupe absorbs the re-fetched batch).
///
/// Traced as one `poll folder` span with a `fetch batch`, `parse batch` and `store batch` child per
/// batch (the store's span names the emails it stored).
struct FolderImporter: Sendable {
    let pool: PostgresPool
    let settings: ImportSettings
    /// Carries tenant, account and folder metadata (set by `ImportRunner`).
    let logger: Logger
    /// Receives the delivery-to-row latency of new mail, labelled with `tenantSlug`, when set.
    var metrics: WorkerMetrics? = nil
    var tenantSlug = ""

    /// A message fetched and parsed (or failed) and waiting to be stored.
    enum Item: Sendable {
        case email(UID, NewEmail)
        case failure(UID, ImportFailureQueries.Stage, String)
        /// Gone from the server between listing and fetching (expunged): the cursor passes it.
        case vanished(UID)
        /// Skipped by a global or account filter: not stored, counted, and the cursor passes it.
        case skipped(UID, filter: String)

        var uid: UID {
            switch self {
            case .email(let u, _), .failure(let u, _, _), .vanished(let u), .skipped(let u, _): return u
            }
        }
    }

    func poll(account: MailAccountRecord, folder initial: MailFolderRecord, imap: IMAPConnection) async throws -> ImportReport {
        try await withSpan("poll folder") { span in
            span.attributes["mailroom.tenant_id"] = account.tenantID.rawValue
            span.attributes["mailroom.account_id"] = account.id.rawValue
            span.attributes["mailroom.folder_id"] = initial.id.rawValue
            let report = try await pollTraced(account: account, folder: initial, imap: imap)
            span.attributes["mailroom.imported"] = report.imported
            return report
        }
    }

    private func pollTraced(account: MailAccountRecord, folder initial: MailFolderRecord, imap: IMAPConnection) async throws -> ImportReport {
        let tenant = account.tenantID
        var report = ImportReport(tenantID: tenant, accountID: account.id, folderID: initial.id)
        // The start is recorded and the cursor read in one transaction, before EXAMINE: reading it
        // after would not make it fresher (the row lock ends with the transaction either way), and
        // every store re-reads the cursor under its lock before moving it.
        // Filters are read in the same transaction, once per poll: a change in the database applies
        // to the next poll, and an empty poll pays no transaction of its own for them.
        let (folder, filters) = try await pool.transaction(tenant: tenant) { conn in
            try MailFolderQueries.mailFolderPollStarted(conn, tenant: tenant, id: initial.id)
            return (try MailFolderQueries.mailFolderLockCursor(conn, tenant: tenant, id: initial.id),
                    try EmailFilterQueries.emailFilterListForAccount(conn, tenant: tenant, account: account.id))
        }
        let name = initial.name
        let filing = MailFiling(account: account, filters: filters)
        // keep_unread folders are opened read-only (EXAMINE): nothing in them can change.
        let readOnly = account.keepUnread
        let status = try await imap.run { try $0.select(name, readOnly: readOnly) }
        let plan = FolderSyncPlan.decide(
            cursor: .init(uidValidity: folder.uidValidity, lastUID: folder.lastUID),
            serverValidity: status.uidValidity, serverUIDNext: status.uidNext, exists: status.exists,
            fetchSince: account.fetchSince)

        var uids: [UID] = []
        switch plan {
        case .upToDate:
            break
        case .fetchAfter(let after):
            uids = try await imap.run { try $0.searchUIDs(name, after: after) }.filter { $0 > after }
        case .initial(let since), .newEpoch(_, _, let since):
            if case .newEpoch(let previous, let current, _) = plan {
                report.uidValidityChanged = true
                logger.warning("UIDVALIDITY changed: starting a new epoch", metadata: [
                    "previous": "\(previous)", "current": "\(current)"])
            }
            if folder.uidValidity != status.uidValidity {
                let previous = folder.uidValidity
                try await pool.transaction(tenant: tenant) { conn in
                    try MailFolderQueries.mailFolderStartEpoch(conn, tenant: tenant, id: folder.id,
                                                               previous: previous, new: status.uidValidity)
                }
            }
            if let since {
                uids = try await imap.run { try $0.searchUIDs(name, since: since) }
            } else {
                uids = try await imap.run { try $0.searchUIDs(name, after: nil) }
            }
        }
        let epoch = status.uidValidity
        // Delivery latency is measured on live mail only: a first sync (or a new epoch) imports mail
        // that arrived long before this mailbox was connected.
        let live: Bool
        if case .fetchAfter = plan { live = true } else { live = false }

        try await retryDueFailures(account: account, folder: folder, epoch: epoch, imap: imap, filing: filing, report: &report)

        uids = Array(Set(uids)).sorted()
        // A three-stage pipeline: while the IMAP thread fetches batch N+1, batch N is parsed and then
        // stored once batch N-1 is committed (stores stay in UID order: the cursor only moves forward).
        // At most two batches wait behind the fetch, and each holds a reservation of the worker's
        // fetch budget until it is stored, which bounds memory. A batch ends early when its bodies
        // would take more than its share of the budget; the rest goes to the next batch.
        var pending = uids[...]
        var inFlight: [Task<BatchOutcome, Error>] = []
        while !pending.isEmpty {
            let batch = Array(pending.prefix(settings.batchSize))
            let raws = try await withSpan("fetch batch") { span in
                span.attributes["mailroom.uid_count"] = batch.count
                return try await fetchRaw(batch, account: account, folderName: name, imap: imap, filing: filing)
            }
            let covered = raws.results.last!.0
            pending = pending.drop { $0 <= covered }
            let previous = inFlight.last
            inFlight.append(Task { [self] in
                defer { raws.reservation.release() }
                let items = withSpan("parse batch") { span in
                    span.attributes["mailroom.message_count"] = raws.results.count
                    return parse(raws, filing: filing)
                }
                if let previous { _ = try await previous.value }
                let outcome = try await withSpan("store batch") { span in
                    let outcome = try await store(items, mode: .fresh(covering: covered), account: account, folder: folder,
                                                  epoch: epoch, filing: filing)
                    span.attributes["mailroom.email_count"] = outcome.stored.count
                    span.attributes["mailroom.email_ids"] = outcome.stored.map(\.id.rawValue)
                    return outcome
                }
                if live { recordDelivery(outcome) }
                await markRead(raws.unread, folder: name, imap: imap)
                return outcome
            })
            if inFlight.count > 2 { report.add(try await inFlight.removeFirst().value) }
        }
        for task in inFlight { report.add(try await task.value) }

        // The caller records the finished poll (`mailFolderPollFinished` with this UIDNEXT) in its
        // closing transaction.
        report.uidNext = status.uidNext
        return report
    }

    // MARK: Fetching

    /// A batch as fetched: per UID its metadata and bytes, a fetch error, or nil when the UID is gone.
    struct RawBatch: Sendable {
        var byUID: [UID: MessageMetadata]
        /// The UIDs the batch covers, in order (a prefix of those asked for).
        var results: [(UID, Result<Fetched, TransportError>?)]
        /// Messages a header-only filter skipped before their body was downloaded, with the filter.
        var skipped: [UID: String] = [:]
        /// Fetched messages that were unread, for an account that marks what it imports as read.
        var unread: [UID] = []
        /// The share of the worker's fetch budget these bytes hold; released once they are stored.
        var reservation: ByteBudget.Reservation
    }

    /// One fetched message: the whole message, or only its header with the reason.
    struct Fetched: Sendable {
        var bytes: [UInt8]
        var headerOnlyNote: String?
    }

    /// The account's size limit under the operator's ceiling, and how to name it in a note.
    func sizeLimit(_ account: MailAccountRecord) -> (bytes: Int, name: String) {
        let limit = settings.limits.effectiveLimit(account: account.maxMessageSize)
        return (limit, limit < account.maxMessageSize
                ? "the operator's limit (\(TransferLimits.maxMessageSizeVariable)) of \(limit) bytes"
                : "the account's limit of \(limit) bytes")
    }

    /// Budget bytes a message takes while in flight: its announced size, or a header's worth when only
    /// its header is fetched. A body larger than announced grows the reservation once it arrived.
    static func reserve(for meta: MessageMetadata?, limit: Int) -> Int {
        guard let meta else { return 0 }
        return meta.size > limit ? min(limit, headerReserve) : max(0, meta.size)
    }

    static let headerReserve = 64 << 10

    /// The IMAP part of a batch: metadata, then the messages in pipelined batches (or only the
    /// header of one too large).
    /// Reserves the bodies' bytes from the worker's fetch budget first (waiting while it is spent);
    /// fetches only the prefix of `uids` that fits a quarter of the budget (at least one message).
    private func fetchRaw(_ uids: [UID], account: MailAccountRecord, folderName: String, imap: IMAPConnection,
                          filing: MailFiling) async throws -> RawBatch {
        let metas = try await imap.run { try $0.fetchMetadata(folderName, uids: UIDSet(uids)) }
        let byUID = Dictionary(metas.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let (limit, limitName) = sizeLimit(account)
        let budget = settings.fetchBudget
        let share = max(1, budget.capacity / 4)
        var batch: [UID] = []
        var bytes = 0
        for uid in uids {
            let need = Self.reserve(for: byUID[uid], limit: limit)
            if !batch.isEmpty, bytes + need > share { break }
            batch.append(uid)
            bytes += need
        }
        let reservation = try await budget.reserve(bytes)
        let batchUIDs = batch
        // A server may send more than it announced: the batch may hold its reservation plus one
        // message's limit, no more, whatever the announced sizes said.
        let allowance = bytes + limit
        let keepUnread = account.keepUnread
        let headerFirst = filing.decidesBeforeDownload
        do {
            let (raws, skipped) = try await imap.run { session in
                var results: [UID: Result<Fetched, TransportError>] = [:]
                var skipped: [UID: String] = [:]
                let present = batchUIDs.filter { byUID[$0] != nil }
                var wanted = present
                // Header-only filters decide before any body is downloaded.
                if headerFirst {
                    try session.fetchMessages(folderName, uids: present, maxBytesPerMessage: limit, headerOnly: true) { uid, result in
                        switch result {
                        case .success(let header):
                            if let filter = filing.skipsBeforeDownload(header: header) {
                                skipped[uid] = filter
                                results[uid] = .success(Fetched(bytes: []))
                            }
                        case .failure(let e):
                            results[uid] = .failure(e)
                        }
                    }
                    wanted = present.filter { results[$0] == nil }
                }
                // Bodies in pipelined batches (BODY.PEEK[]: no flag changes), each message within the
                // account's limit and the batch within its allowance.
                var cutOff: [UID] = []
                try session.fetchMessages(folderName, uids: wanted.filter { byUID[$0]!.size <= limit },
                                          maxBytesPerMessage: limit, maxTotalBytes: allowance) { uid, result in
                    switch result {
                    case .success(let bytes): results[uid] = .success(Fetched(bytes: bytes))
                    case .failure(let e) where e.code == .messageTooLarge: cutOff.append(uid)
                    case .failure(let e): results[uid] = .failure(e)
                    }
                }
                // Announced as too large, or sent larger than announced (the body was dropped): the header.
                let headerOnly = wanted.filter { byUID[$0]!.size > limit } + cutOff
                try session.fetchMessages(folderName, uids: headerOnly, maxBytesPerMessage: limit, headerOnly: true) { uid, result in
                    let size = byUID[uid]!.size
                    let note = size > limit
                        ? "message of \(size) bytes exceeds \(limitName): imported header only"
                        : "message larger than the \(size) bytes the server announced exceeds \(limitName) "
                            + "or the fetch budget's allowance: imported header only"
                    results[uid] = result.map { Fetched(bytes: $0, headerOnlyNote: note) }
                }
                let out = batchUIDs.map { uid -> (UID, Result<Fetched, TransportError>?) in
                    guard byUID[uid] != nil else { return (uid, nil) }
                    return (uid, results[uid] ?? .failure(TransportError(.noSuchMessage, detail: "UID \(uid) was not delivered")))
                }
                return (out, skipped)
            }
            // What arrived may exceed what was announced (by one message's limit at most): account for it.
            let received = raws.reduce(0) { total, entry in
                if case .success(let f)? = entry.1 { return total + f.bytes.count }
                return total
            }
            reservation.grow(to: received)
            // Fetching peeks; an account that does not keep mail unread marks what it fetched as
            // read, once the batch is stored (`markRead`).
            let unread = keepUnread ? [] : raws.compactMap { uid, result -> UID? in
                guard case .success? = result,
                    !byUID[uid]!.flags.contains(where: { $0.caseInsensitiveCompare("\\Seen") == .orderedSame })
                else { return nil }
                return uid
            }
            return RawBatch(byUID: byUID, results: raws, skipped: skipped, unread: unread, reservation: reservation)
        } catch {
            reservation.release()
            throw error
        }
    }

    /// Parses a fetched batch (CPU only: GMime and the mapping to rows).
    private func parse(_ raw: RawBatch, filing: MailFiling) -> [Item] {
        let byUID = raw.byUID
        return raw.results.map { uid, result -> Item in
            if let filter = raw.skipped[uid] { return .skipped(uid, filter: filter) }
            guard let result else { return .vanished(uid) }
            switch result {
            case .failure(let e) where e.code == .noSuchMessage:
                return .vanished(uid)
            case .failure(let e):
                return .failure(uid, .fetch, e.description)
            case .success(let fetched):
                let meta = byUID[uid]!
                do {
                    let parsed = try MIMEParser.parse(fetched.bytes)
                    var email = MessageMapper.newEmail(from: parsed, raw: fetched.bytes, realSize: meta.size,
                                                       internalDate: meta.internalDate, headerOnlyNote: fetched.headerOnlyNote)
                    // Body filters decide after parsing, before anything is stored (and sanitised).
                    if let filter = filing.skips(email) { return .skipped(uid, filter: filter) }
                    MessageMapper.sanitizeHTML(&email, remoteImages: filing.account.remoteImages)
                    return .email(uid, email)
                } catch {
                    return .failure(uid, .parse, "\(error)")
                }
            }
        }
    }

    // MARK: Storing

    struct BatchOutcome: Sendable {
        var imported = 0, linked = 0, failed = 0, headerOnly = 0, skipped = 0
        /// The emails this batch stored (new rows and ones found again), with the server's
        /// INTERNALDATE of the new ones.
        var stored: [(id: EmailID, receivedNew: Date?)] = []
    }

    /// Records, once the batch is committed, how long each new email took from the server's
    /// INTERNALDATE (when the server received it) to its row.
    private func recordDelivery(_ outcome: BatchOutcome) {
        guard let metrics else { return }
        let now = Date()
        for case let (_, received?) in outcome.stored { metrics.delivered(tenant: tenantSlug, delay: now.timeIntervalSince(received)) }
    }

    /// What a store transaction is for: new messages above the cursor, which then moves to
    /// `covering`; or retries of failures recorded below it, each resolved once it is stored
    /// (or gone, or filtered).
    enum StoreMode: Sendable {
        case fresh(covering: UID)
        case retry
    }

    /// Stores a batch in one transaction. If one message makes the transaction fail, the batch is
    /// stored again in a new one with a savepoint per message, and the offending message is recorded
    /// as a failure instead of blocking the folder.
    private func store(_ items: [Item], mode: StoreMode, account: MailAccountRecord, folder: MailFolderRecord,
                       epoch: UIDValidity, filing: MailFiling) async throws -> BatchOutcome {
        do {
            return try await storeOnce(items, mode: mode, account: account, folder: folder, epoch: epoch, filing: filing, isolate: false)
        } catch let e as PostgresError where e.code == .queryFailed {
            logger.warning("batch store failed; retrying message by message", metadata: ["error": "\(e)"])
            return try await storeOnce(items, mode: mode, account: account, folder: folder, epoch: epoch, filing: filing, isolate: true)
        }
    }

    /// The one store loop: non-emails first (failures recorded, skips counted), then the emails, all
    /// in a fixed number of statements or, with `isolate`, one by one behind savepoints.
    private func storeOnce(_ items: [Item], mode: StoreMode, account: MailAccountRecord, folder: MailFolderRecord,
                           epoch: UIDValidity, filing: MailFiling, isolate: Bool) async throws -> BatchOutcome {
        let tenant = account.tenantID
        let settings = self.settings
        return try await pool.transaction(tenant: tenant) { conn in
            var out = BatchOutcome()
            var mine = items
            if case .fresh = mode {
                let cursor = try MailFolderQueries.mailFolderLockCursor(conn, tenant: tenant, id: folder.id)
                // Another importer moved on, or the epoch changed under us: store only what is still ours.
                guard cursor.uidValidity == epoch else { return out }
                mine = items.filter { $0.uid > cursor.lastUID }
            }
            let retry: Bool
            if case .retry = mode { retry = true } else { retry = false }
            func record(_ uid: UID, _ stage: ImportFailureQueries.Stage, _ reason: String) throws {
                try ImportFailureQueries.importFailureRecord(
                    conn, tenant: tenant, account: account.id, folder: folder.id, uidValidity: epoch, uid: uid,
                    stage: stage, reason: reason, maxAttempts: settings.maxAttempts, baseDelay: settings.retryBaseDelay)
                out.failed += 1
            }
            func resolve(_ uid: UID, _ email: EmailID?) throws {
                guard retry else { return }
                try ImportFailureQueries.importFailureResolve(conn, tenant: tenant, folder: folder.id, uidValidity: epoch, uid: uid, email: email)
            }
            func stored(_ uid: UID, _ result: EmailQueries.ImportResult, _ email: NewEmail) throws {
                if result.isNew { out.imported += 1 } else { out.linked += 1 }
                out.stored.append((result.emailID, result.isNew ? email.dateReceived : nil))
                if email.isHeaderOnly { out.headerOnly += 1 }
                try resolve(uid, result.emailID)
            }
            var emails: [(uid: UID, email: NewEmail)] = []
            for item in mine {
                switch item {
                case .vanished(let uid):
                    try resolve(uid, nil)
                case .skipped(let uid, let filter):
                    logger.debug("skipped by filter", metadata: ["uid": "\(uid)", "filter": "\(filter)"])
                    if !retry { out.skipped += 1 }
                    try resolve(uid, nil)
                case .failure(let uid, let stage, let reason):
                    try record(uid, stage, reason)
                case .email(let uid, let email):
                    emails.append((uid, email))
                }
            }
            let placements = emails.map { (email: $0.email, placement: EmailPlacement(
                accountID: account.id, folderID: folder.id, uidValidity: epoch, uid: $0.uid, target: folder.target)) }
            if !isolate {
                let results = try EmailQueries.emailImportBatch(conn, tenant: tenant, items: placements)
                try afterStore(conn, account: account, folder: folder, filing: filing, stored: zip(results, emails).map { ($0, $1.email) })
                for (result, item) in zip(results, emails) { try stored(item.uid, result, item.email) }
            } else {
                for (item, placed) in zip(emails, placements) {
                    try conn.executeScript("SAVEPOINT one_message")
                    do {
                        let result = try EmailQueries.emailImport(conn, tenant: tenant, email: item.email, placement: placed.placement)
                        try afterStore(conn, account: account, folder: folder, filing: filing, stored: [(result, item.email)])
                        try conn.executeScript("RELEASE SAVEPOINT one_message")
                        try stored(item.uid, result, item.email)
                    } catch let e as PostgresError where e.code == .queryFailed {
                        try conn.executeScript("ROLLBACK TO SAVEPOINT one_message")
                        try record(item.uid, .store, e.description)
                    }
                }
            }
            if case .fresh(let last) = mode {
                try MailFolderQueries.mailFolderAdvance(conn, tenant: tenant, id: folder.id, uidValidity: epoch, lastUID: last,
                                                        imported: out.imported + out.linked, skipped: out.skipped)
            }
            return out
        }
    }

    /// What follows storing, in the same transaction: delivery reports among the new emails recorded
    /// (and kept from everything after but filing), routing of the other new emails (links, cases,
    /// distribution, follows, a new case's auto-reply, under the case owner's rules), then filing and
    /// filters for every stored email (new ones and ones this mailbox found again), auto-replies of
    /// accounts without case creation (not to mail another account owns, never to a report), then
    /// notifications, last, so a user filter can suppress them.
    private func afterStore(_ conn: PostgresConnection, account: MailAccountRecord, folder: MailFolderRecord, filing: MailFiling,
                            stored: [(result: EmailQueries.ImportResult, email: NewEmail)]) throws {
        let router = InboundRouter(settings: settings, logger: logger)
        let fresh = stored.filter(\.result.isNew).map { (id: $0.result.emailID, email: $0.email) }
        // Delivery reports are recorded and go no further: no routing, no auto-reply (docs/bounces.md).
        let reports = try DeliveryReportIntake(logger: logger).take(conn, tenant: account.tenantID, emails: fresh)
        let routed = reports.isEmpty ? fresh : fresh.filter { !reports.contains($0.id) }
        let owners = routed.isEmpty ? CaseOwner(accounts: []) : try CaseOwner.load(conn, tenant: account.tenantID)
        let linked = try router.route(conn, tenant: account.tenantID, account: account, emails: routed, owners: owners)
        try filing.file(conn, folder: folder, stored: stored.map { (id: $0.result.emailID, email: $0.email) })
        try AutoReplier.afterImport(conn, tenant: account.tenantID, account: account, stored: stored
            .filter { !reports.contains($0.result.emailID) && (!$0.result.isNew || !owners.ownedElsewhere($0.email, polledBy: account.id)) }
            .map { ($0.result.emailID, $0.email, $0.result.isNew) })
        try router.notify(conn, tenant: account.tenantID, emails: linked)
    }

    /// Marks stored messages `\Seen` (`UID STORE +FLAGS.SILENT`), after their transaction committed:
    /// a crash before leaves them unread on the server, never read but not imported. A failure is
    /// logged, not thrown: the mail is safely stored, and a broken connection fails the next fetch.
    private func markRead(_ uids: [UID], folder: String, imap: IMAPConnection) async {
        guard !uids.isEmpty else { return }
        do {
            try await imap.run { try $0.addSeenFlag(folder, uids: UIDSet(uids)) }
        } catch {
            logger.warning("could not mark imported messages as read", metadata: ["count": "\(uids.count)", "error": "\(error)"])
        }
    }

    // MARK: Retries

    /// Retries failed messages whose backoff has elapsed. They sit below the cursor, so the folder
    /// never waited for them.
    private func retryDueFailures(account: MailAccountRecord, folder: MailFolderRecord, epoch: UIDValidity,
                                  imap: IMAPConnection, filing: MailFiling, report: inout ImportReport) async throws {
        let tenant = account.tenantID
        let due = try await pool.transaction(tenant: tenant) { conn in
            try ImportFailureQueries.importFailureListDue(conn, tenant: tenant, folder: folder.id, uidValidity: epoch, now: Date())
        }
        var remaining = due.map(\.uid).sorted()[...]
        while !remaining.isEmpty {
            // Each round holds its budget reservation until stored, then gives it back.
            let raw = try await fetchRaw(Array(remaining), account: account, folderName: folder.name, imap: imap, filing: filing)
            defer { raw.reservation.release() }
            let covered = raw.results.last!.0
            remaining = remaining.drop { $0 <= covered }
            let items = parse(raw, filing: filing)
            let outcome = try await store(items, mode: .retry, account: account, folder: folder, epoch: epoch, filing: filing)
            await markRead(raw.unread, folder: folder.name, imap: imap)
            report.retriedOK += outcome.imported + outcome.linked
            report.failed += outcome.failed
        }
    }
}

extension ImportReport {
    mutating func add(_ o: FolderImporter.BatchOutcome) {
        imported += o.imported
        linkedExisting += o.linked
        failed += o.failed
        headerOnly += o.headerOnly
        skipped += o.skipped
    }
}
