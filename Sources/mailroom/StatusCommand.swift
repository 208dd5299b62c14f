import ArgumentParser
import Foundation
import MailCore
import MailStore

/// `mailroom status`: per folder the last poll, how far it lags its schedule, the backlog and the
/// last error; per tenant the queue depth. `--json` prints the same as one object whose keys are
/// documented in docs/operations.md and kept stable.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each account and folder's polling state and each tenant's job queue.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only this tenant (active or not); default: every active tenant.")
    var tenant: String?

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    /// What `status` reports about one tenant.
    struct TenantStatus: Sendable {
        var slug: String
        var queue: QueueStatusQueries.TenantQueue
        var folders: [FolderStatusQueries.FolderStatus]
        /// Open cases nobody could be assigned (no eligible user when they were created).
        var unassignedCases = 0
        /// Accounts whose last SMTP attempt failed (connection, TLS, login), with when people were alerted.
        var smtpFailures: [MailAccountQueries.SMTPHealth] = []
        /// Accounts whose OAuth grant the provider refused: someone must log in again.
        var oauthReauthRequired: [OAuthGrantQueries.NeedsLogin] = []
        /// OAuth clients whose secret expires within 30 days (or has expired): renew it at the provider.
        var oauthClientSecretsExpiring: [OAuthClientQueries.ExpiringSecret] = []
        /// Webhook endpoints with their delivery state (never their secret).
        var webhooks: [WebhookEndpointStatus] = []
        /// Senders past their storm breaker limit: their mail opens (or reopens) no case for now.
        var stormBreakers: [CaseSenderLimitQueries.Trip] = []
    }

    func run() async throws {
        try global.bootstrapLogging()
        let pool = try global.makePool(connections: 2)
        defer { pool.close() }
        let report: [TenantStatus]
        do {
            report = try await Self.collect(pool: pool, only: tenant, now: Date())
        } catch let e as PostgresError where e.sqlState == "42P01" {
            throw ValidationError("the database has no Mailroom schema yet: run `mailroom migrate`")
        }
        print(json ? Self.renderJSON(report, now: Date()) : Self.renderTables(report, now: Date()))
    }

    /// Reads the queue across tenants in one query, then each tenant's folders in a transaction
    /// scoped to that tenant (the folder tables force row-level security).
    static func collect(pool: PostgresPool, only slug: String?, now: Date) async throws -> [TenantStatus] {
        let tenants: [TenantQueries.Tenant] = try await pool.withConnection { conn in
            if let slug {
                guard let t = try TenantQueries.tenantGetBySlug(conn, slug: slug) else { return [] }
                return [t]
            }
            return try TenantQueries.tenantListActive(conn)
        }
        if let slug, tenants.isEmpty { throw ValidationError("no tenant \"\(slug)\"") }
        let only = slug == nil ? nil : tenants.first?.id
        let queues = try await pool.withConnection { try QueueStatusQueries.queueDepthByTenant($0, tenant: only) }
        var out: [TenantStatus] = []
        for t in tenants.sorted(by: { $0.slug < $1.slug }) {
            let (folders, smtp) = try await pool.transaction(tenant: t.id) {
                (try FolderStatusQueries.folderStatusList($0, tenant: t.id), try MailAccountQueries.mailAccountListSMTPFailing($0, tenant: t.id))
            }
            let queue = queues.first { $0.tenant == t.slug }
                ?? QueueStatusQueries.TenantQueue(tenant: t.slug)
            let unassigned = try await pool.transaction(tenant: t.id) { try CaseQueries.caseCountUnassignedOpen($0, tenant: t.id) }
            let (reauth, expiring) = try await pool.transaction(tenant: t.id) {
                (try OAuthGrantQueries.grantListNeedingLogin($0, tenant: t.id),
                 try OAuthClientQueries.clientListSecretsExpiring(
                    $0, tenant: t.id, before: now.addingTimeInterval(OAuthClientQueries.secretWarningWindow)))
            }
            let (webhooks, storms) = try await pool.transaction(tenant: t.id) {
                (try WebhookQueries.webhookList($0, tenant: t.id), try CaseSenderLimitQueries.caseSenderListTripped($0, tenant: t.id))
            }
            out.append(TenantStatus(slug: t.slug, queue: queue, folders: folders, unassignedCases: unassigned, smtpFailures: smtp,
                                    oauthReauthRequired: reauth, oauthClientSecretsExpiring: expiring, webhooks: webhooks,
                                    stormBreakers: storms))
        }
        return out
    }

    // MARK: Rendering

    static func renderTables(_ report: [TenantStatus], now: Date) -> String {
        var queues: [[String]] = [["tenant", "due", "running", "scheduled", "failed", "poll lag", "backlog", "failing folders",
                                   "unassigned cases"]]
        var folders: [[String]] = [["tenant", "account", "folder", "active", "last poll", "next poll", "lag", "backlog",
                                    "imported", "skipped", "retrying", "failed", "error"]]
        for t in report {
            let q = t.queue
            let backlog = t.folders.compactMap(\.backlog).reduce(0, +)
            let failing = t.folders.filter { $0.consecutiveFailures > 0 }.count
            queues.append([t.slug, "\(q.due)", "\(q.running)", "\(q.scheduled)", "\(q.failed)", duration(q.pollLagSeconds),
                           "\(backlog)", "\(failing)", "\(t.unassignedCases)"])
            for f in t.folders {
                let next: String
                switch (f.pollState, f.nextRunAt) {
                case ("running", _): next = "running"
                case (_, let at?): next = at <= now ? "due" : "in " + duration(at.timeIntervalSince(now))
                default: next = "-"
                }
                folders.append([t.slug, f.account, f.folder ?? "-", f.active ? "yes" : "no",
                                f.lastPollAt.map { duration(now.timeIntervalSince($0)) + " ago" } ?? "never",
                                next, duration(f.lagSeconds), f.backlog.map(String.init) ?? "?", "\(f.messagesImported)",
                                "\(f.messagesSkipped)", "\(f.failuresRetrying)", "\(f.failuresFailed)", oneLine(f.lastError, max: 60)])
            }
        }
        var smtp: [[String]] = [["tenant", "account", "address", "smtp failing since", "alerted", "error"]]
        for t in report {
            for a in t.smtpFailures {
                smtp.append([t.slug, a.name, a.address, a.lastErrorAt.map { duration(now.timeIntervalSince($0)) + " ago" } ?? "-",
                             a.alertedAt.map { duration(now.timeIntervalSince($0)) + " ago" } ?? "no", oneLine(a.lastError, max: 60)])
            }
        }
        let smtpTable = smtp.count > 1 ? "\n\n" + TextTable.render(smtp) : ""
        var reauth: [[String]] = [["tenant", "account", "address", "OAuth login needed since", "reason"]]
        for t in report {
            for a in t.oauthReauthRequired {
                reauth.append([t.slug, a.account, a.address, duration(now.timeIntervalSince(a.since)) + " ago", oneLine(a.reason, max: 60)])
            }
        }
        let reauthTable = reauth.count > 1 ? "\n\n" + TextTable.render(reauth) : ""
        var secrets: [[String]] = [["tenant", "OAuth client", "provider", "client secret expires", "in"]]
        for t in report {
            for c in t.oauthClientSecretsExpiring {
                let left = c.expiresAt.timeIntervalSince(now)
                secrets.append([t.slug, c.name, c.provider, ISO8601DateFormatter().string(from: c.expiresAt),
                                left <= 0 ? "expired" : duration(left)])
            }
        }
        let secretsTable = secrets.count > 1 ? "\n\n" + TextTable.render(secrets) : ""
        // Webhooks that need attention: disabled (replay re-enables), or failing and retrying.
        var hooks: [[String]] = [["tenant", "webhook", "url", "state", "undelivered", "failures", "error"]]
        for t in report {
            for w in t.webhooks where !w.enabled || w.consecutiveFailures > 0 {
                hooks.append([t.slug, w.name, w.url, w.enabled ? "retrying" : "disabled", "\(max(0, w.lastSeq - w.cursor))",
                              "\(w.consecutiveFailures)", oneLine(w.enabled ? w.lastError : w.disabledReason, max: 60)])
            }
        }
        let hooksTable = hooks.count > 1 ? "\n\n" + TextTable.render(hooks) : ""
        var storms: [[String]] = [["tenant", "account", "storm breaker: sender", "limit", "tripped", "held back", "last held"]]
        for t in report {
            for b in t.stormBreakers {
                storms.append([t.slug, b.account ?? "-", b.sender, b.slot == .create ? "new cases" : "reopenings",
                               duration(now.timeIntervalSince(b.since)) + " ago", "\(b.heldBack)",
                               duration(now.timeIntervalSince(b.lastHeldAt)) + " ago"])
            }
        }
        let stormsTable = storms.count > 1 ? "\n\n" + TextTable.render(storms) : ""
        return TextTable.render(queues) + "\n\n" + TextTable.render(folders) + smtpTable + reauthTable + secretsTable + hooksTable
            + stormsTable
    }

    /// The JSON document: `{"generated_at", "tenants": [{"tenant", "queue": {...}, "backlog",
    /// "failing_folders", "folders": [{...}]}]}`. Absent values are `null`, never missing keys.
    static func renderJSON(_ report: [TenantStatus], now: Date) -> String {
        let iso = ISO8601DateFormatter()
        func date(_ d: Date?) -> Any { d.map { iso.string(from: $0) } ?? NSNull() }
        func value(_ v: Any?) -> Any { v ?? NSNull() }
        let tenants: [[String: Any]] = report.map { t in
            let q = t.queue
            return [
                "tenant": t.slug,
                "queue": ["due": q.due, "running": q.running, "scheduled": q.scheduled, "failed": q.failed,
                          "max_lag_seconds": q.maxLagSeconds, "poll_lag_seconds": q.pollLagSeconds] as [String: Any],
                "backlog": t.folders.compactMap(\.backlog).reduce(0, +),
                "failing_folders": t.folders.filter { $0.consecutiveFailures > 0 }.count,
                "unassigned_cases": t.unassignedCases,
                "smtp_failures": t.smtpFailures.map { a -> [String: Any] in
                    ["account": a.name, "account_id": a.accountID.rawValue, "address": a.address, "last_error": value(a.lastError),
                     "last_error_at": date(a.lastErrorAt), "alerted_at": date(a.alertedAt)]
                },
                "oauth_reauth_required": t.oauthReauthRequired.map { a -> [String: Any] in
                    ["account": a.account, "account_id": a.accountID.rawValue, "address": a.address, "reason": value(a.reason),
                     "since": date(a.since)]
                },
                "oauth_client_secrets_expiring": t.oauthClientSecretsExpiring.map { c -> [String: Any] in
                    ["client": c.name, "provider": c.provider, "expires_at": date(c.expiresAt),
                     "expired": c.expiresAt <= now, "seconds_left": max(0, c.expiresAt.timeIntervalSince(now).rounded())]
                },
                "webhooks": t.webhooks.map { w -> [String: Any] in
                    ["name": w.name, "url": w.url, "enabled": w.enabled, "disabled_reason": value(w.disabledReason),
                     "cursor": w.cursor, "last_seq": w.lastSeq, "consecutive_failures": w.consecutiveFailures,
                     "last_error": value(w.lastError)]
                },
                "storm_breakers": t.stormBreakers.map { b -> [String: Any] in
                    ["account": value(b.account), "account_id": value(b.accountID?.rawValue), "sender": b.sender,
                     "slot": b.slot.rawValue, "since": date(b.since), "held_back": b.heldBack, "last_held_at": date(b.lastHeldAt)]
                },
                "folders": t.folders.map { f -> [String: Any] in
                    [
                        "account": f.account, "account_id": f.accountID.rawValue,
                        "folder": value(f.folder), "folder_id": value(f.folderID?.rawValue),
                        "active": f.active,
                        "last_poll_at": date(f.lastPollAt), "last_success_at": date(f.lastSuccessAt),
                        "next_run_at": date(f.nextRunAt), "poll_state": value(f.pollState),
                        "lag_seconds": f.lagSeconds,
                        "uidnext": value(f.uidNext), "last_uid": f.lastUID, "backlog": value(f.backlog),
                        "messages_imported": f.messagesImported, "messages_skipped": f.messagesSkipped,
                        "kind": f.kind, "owner": value(f.owner),
                        "failures_retrying": f.failuresRetrying, "failures_failed": f.failuresFailed,
                        "consecutive_failures": f.consecutiveFailures,
                        "last_error": value(f.lastError), "last_error_at": date(f.lastErrorAt),
                    ]
                },
            ]
        }
        let doc: [String: Any] = ["generated_at": iso.string(from: now), "tenants": tenants]
        let data = (try? JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// "42s", "3m12s", "2h05m", "4d03h": short enough for a table column.
    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        switch s {
        case ..<60: return "\(s)s"
        case ..<3600: return "\(s / 60)m\(String(format: "%02d", s % 60))s"
        case ..<86400: return "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m"
        default: return "\(s / 86400)d\(String(format: "%02d", s % 86400 / 3600))h"
        }
    }

    static func oneLine(_ text: String?, max: Int) -> String {
        guard let text else { return "" }
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > max ? String(flat.prefix(max - 1)) + "…" : flat
    }
}
