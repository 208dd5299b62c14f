import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailHTML
import MailMIME
import MailStore
import MailTransport
import Tracing

/// Runs a `send` job: composes the queued email, submits it over SMTP, records the outcome.
///
/// At most once per queueing: the attempt starts only while the row is still 'Sending' (counted,
/// permission re-checked and loaded in one round trip: `EmailQueries.emailSendAttemptStart`), and 'Sent'
/// is recorded in one statement right after the server's acceptance (`EmailQueries.emailMarkSent`).
/// The one unavoidable window is between the server's 250 and that commit: a crash there leaves the
/// row 'Sending', the job's lease expires, and the message is submitted again.
///
/// Before each attempt the sender's permission is checked again (`EmailQueries.emailSendRefusal`):
/// a permission revoked after queueing fails the email with the reason, unsent. An email with a
/// parent record gets a Message-ID carrying the record's signed token (`RecordTokenSigner`) in that
/// same transaction, before its first submission; later attempts keep it.
///
/// Mail on an OAuth account that needs a new login (`reauth_required`) waits without spending
/// attempts: still `Sending`, its `send_error` saying why and until when, the job postponed
/// (`JobPostponed`); a new login sends it at once; after the tenant's `oauth_send_wait` it fails with
/// the provider's reason.
///
/// Failures: temporary ones (4xx, connection errors, timeouts) are rethrown so the job retries with
/// its backoff, until its last attempt marks the email Failed; permanent ones (5xx, TLS, composing)
/// mark it Failed at once and end the job. Account-level failures (connect, TLS, authentication,
/// timeout) are recorded on the account and alert its people at most once a day.
///
/// Traced as one `send email` span per attempt with `compose`, `smtp submit` and `mark sent`
/// children; its log lines carry `tenant`, `tenant_id`, `account_id` and `email_id` as metadata.
/// Records `mailroom_queue_to_sent_seconds` once the email is marked Sent.
struct SendJobHandler: JobHandler {
    let pool: PostgresPool
    let secrets: SecretBox
    let importer: ImportRunner
    let connections: SMTPConnectionCache
    let logger: Logger
    /// The clock of the wait for a new OAuth login (tests move it instead of waiting).
    var now: @Sendable () -> Date = Date.init

    /// How often mail waiting for a new OAuth login looks again (a new login pulls it forward at once:
    /// functions/40_oauth.sql).
    static let loginRecheck: TimeInterval = 15 * 60

    struct Payload: Decodable { var email: Int64 }

    func handle(_ job: Job) async throws {
        let p = try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8))
        var log = await importer.tenants.logger(logger, tenant: job.tenantID)
        log[metadataKey: "email_id"] = "\(p.email)"
        try await withSpan("send email", ofKind: .consumer) { span in
            span.attributes["mailroom.tenant_id"] = job.tenantID.rawValue
            span.attributes["mailroom.email_id"] = p.email
            span.attributes["mailroom.job_id"] = job.id
            span.attributes["mailroom.job_attempt"] = job.attempt
            span.attributes["mailroom.job_wait_seconds"] = job.waited
            try await send(EmailID(p.email), job: job, log: log)
        }
    }

    private func send(_ id: EmailID, job: Job, log initial: Logger) async throws {
        let tenant = job.tenantID
        let tokenSigner = signer(for: tenant)
        guard var email = try await pool.transaction(tenant: tenant, { conn -> OutgoingEmail? in
            // Count, re-check and load in one round trip. Permission is checked again now, not only at
            // queueing: a grant revoked meanwhile fails the email (final, with the reason) and nothing
            // is submitted.
            var email: OutgoingEmail
            switch try EmailQueries.emailSendAttemptStart(conn, tenant: tenant, id: id) {
            case .gone: return nil
            case .refused(let refusal):
                try EmailQueries.emailRecordSendFailure(conn, tenant: tenant, id: id, error: refusal, final: true)
                return nil
            case .ready(let loaded): email = loaded
            }
            // Queued through SQL, the email has no sanitised copy yet: the CRM renders that one.
            if email.needsSafeHTML, let html = email.bodyHTML {
                let safe = HTMLSanitizer(remoteImages: email.remoteImages).sanitize(html: html, textBody: email.bodyText)
                try EmailQueries.emailSetSafeHTML(conn, tenant: tenant, id: id, html: MessageMapper.clean(safe.html))
            }
            // An email on a record (a case reply ...) carries the record's signed token, so the answer
            // threads back. Signed here, committed before anything is submitted: every attempt, the
            // first and any retry after a crash, submits the same Message-ID.
            if let parent = email.parent, let tokenSigner,
               let signed = tokenSigner.messageID(replacing: email.messageID, for: parent, domain: Self.domain(of: email.account.address)),
               try EmailQueries.emailSetMessageID(conn, tenant: tenant, id: id, current: email.messageID, messageID: signed) {
                email.messageID = signed
            }
            return email
        }) else { return }  // already sent, failed, deleted, or no longer permitted
        var log = initial
        log[metadataKey: "account_id"] = "\(email.account.id)"

        let date = Date()
        let bytes: [UInt8]
        do {
            // The attachments live on only in the message, which the composer frees as soon as
            // GMime holds them: a large attachment is not kept three times over.
            let message = Self.message(email, date: date)
            email.attachments = []
            bytes = try withSpan("compose") { _ in try MessageComposer.compose(consume message) }
        } catch {
            try await recordFailure(email, error: "\(error)", final: true, accountFailure: false, log: log)
            return
        }
        let recipients = email.envelopeRecipients
        var rejectedToken: Int64?
        while true {
            let endpoint: SMTPEndpoint
            let tokenGeneration: Int64?
            do {
                (endpoint, tokenGeneration) = try await makeEndpoint(email.account, tenant: tenant, rejectedToken: rejectedToken)
            } catch let e as OAuthUnavailable where e.kind == .reauthRequired {
                try await waitForLogin(email, reason: e, log: log)
                return
            } catch let e as OAuthUnavailable {
                // The provider is down and the last token expired: the email waits, visibly (its
                // send_error says why), and fails with that reason once its attempts are spent.
                let final = job.attempt >= job.maxAttempts
                try await recordFailure(email, error: "\(e)", final: final, accountFailure: false, log: log)
                if final { return }
                throw e
            } catch {
                try await recordFailure(email, error: "\(error)", final: true, accountFailure: false, log: log)
                return
            }
            // The token is part of the key: a connection logged in with an older one is not reused.
            let key = SMTPConnectionCache.key(tenant: tenant, account: email.account) + "/\(tokenGeneration ?? 0)"
            do {
                try await withSpan("smtp submit", ofKind: .client) { span in
                    span.attributes["mailroom.recipient_count"] = recipients.count
                    span.attributes["mailroom.size"] = bytes.count
                    try await connections.withConnection(key: key, limit: email.account.maxConnections, endpoint: endpoint) {
                        try await $0.send(from: email.from.address, recipients: recipients, message: bytes)
                    }
                }
                break
            } catch let e as TransportError {
                // A token believed valid was refused: one refresh, one retry (nothing was submitted).
                if e.code == .authenticationFailed, let generation = tokenGeneration, rejectedToken == nil {
                    rejectedToken = generation
                    continue
                }
                let final = !e.isTemporary || job.attempt >= job.maxAttempts
                let accountFailure = [.connectFailed, .tlsFailed, .authenticationFailed, .timeout, .hostRefused].contains(e.code)
                try await recordFailure(email, error: e.description, final: final, accountFailure: accountFailure, log: log)
                if final { return }
                throw e
            }
        }
        let notify = !email.isAutoReply && email.parent != nil
        let queued = try await withSpan("mark sent") { _ in
            try await pool.transaction(tenant: tenant) { conn in
                let queued = try EmailQueries.emailMarkSent(conn, tenant: tenant, id: id, date: date, size: bytes.count)
                // A colleague's reply on a record tells the record's followers; an auto-reply does not,
                // and mail on no record has no followers to tell.
                if notify { try NotificationQueries.notificationCreateForEmails(conn, tenant: tenant, emails: [id]) }
                return queued
            }
        }
        if let metrics = importer.metrics, let queued { metrics.sent(tenant: await importer.tenants.slug(tenant), delay: queued) }
        if email.account.storeSent { await appendToSent(email, bytes: bytes, log: log) }
    }

    /// The account needs a new OAuth login: the email fails with the reason once the tenant's wait is
    /// over (`EmailQueries.emailLoginWaitDeadline`), else says so and postpones the job until the
    /// next look or the deadline, whichever comes first. Never returns normally while waiting.
    private func waitForLogin(_ email: OutgoingEmail, reason: OAuthUnavailable, log: Logger) async throws {
        let tenant = email.tenantID, id = email.id
        guard let deadline = try await pool.transaction(tenant: tenant, {
            try EmailQueries.emailLoginWaitDeadline($0, tenant: tenant, id: id)
        }) else { return }
        let now = self.now()
        if now >= deadline {
            try await recordFailure(email, error: "\(reason)", final: true, accountFailure: false, log: log)
            return
        }
        let until = deadline.formatted(.iso8601)
        try await recordFailure(email, error: "\(reason) (waiting for a new login until \(until), then failing)", final: false,
                                accountFailure: false, log: log)
        throw JobPostponed(until: min(deadline, now.addingTimeInterval(Self.loginRecheck)),
                           reason: "waiting until \(until) for a new OAuth login of account \(email.account.id)")
    }

    /// The tenant's record-token signer; nil when the worker runs without the master key (then
    /// Message-IDs stay as queued and replies thread only through stored Message-IDs).
    private func signer(for tenant: TenantID) -> RecordTokenSigner? {
        importer.settings.recordTokenSigner(for: tenant)
    }

    static func domain(of address: String) -> String {
        address.split(separator: "@").last.map(String.init) ?? "mailroom.invalid"
    }

    /// The MIME message of a queued email (`OutgoingEmail.message(date:)`).
    static func message(_ e: OutgoingEmail, date: Date) -> OutgoingMessage { e.message(date: date) }

    /// Records a failed attempt on the email (and on its account for account-level failures) and logs
    /// it: an error when the email is now Failed, a warning when it will be tried again.
    private func recordFailure(_ email: OutgoingEmail, error: String, final: Bool, accountFailure: Bool, log: Logger) async throws {
        let tenant = email.tenantID
        if final {
            log.error("send failed", metadata: ["error": "\(error)"])
        } else {
            log.warning("send attempt failed; will retry", metadata: ["error": "\(error)"])
        }
        try await pool.transaction(tenant: tenant) { conn in
            try EmailQueries.emailRecordSendFailure(conn, tenant: tenant, id: email.id, error: error, final: final)
            guard accountFailure else { return }
            let alert = try MailAccountQueries.mailAccountRecordSMTPFailure(conn, tenant: tenant, id: email.account.id, error: error) {
                SMTPAlertPolicy.shouldAlert(isAccountFailure: true, lastAlertedAt: $0, now: Date())
            }
            if alert { try SMTPFailureAlert.notify(conn, tenant: tenant, account: email.account, error: error, logger: log) }
        }
    }

    /// The account's SMTP endpoint and, for an OAuth account, the generation of the token it carries.
    func makeEndpoint(_ a: SMTPAccount, tenant: TenantID, rejectedToken: Int64? = nil) async throws -> (SMTPEndpoint, Int64?) {
        guard let host = a.host else { throw WorkerError("mail account \(a.id) has no SMTP host") }
        guard let security = TransportSecurity(rawValue: a.security),
              let authentication = SMTPEndpoint.Authentication(rawValue: a.auth) else {
            throw WorkerError("mail account \(a.id) has an unknown smtp_security or smtp_auth setting")
        }
        var generation: Int64?
        let password: Secret
        if authentication == .oauth2 {
            guard let client = a.oauthClientID else { throw WorkerError("mail account \(a.id) sends with OAuth but has no OAuth client") }
            let token = try await importer.oauth.accessToken(tenant: tenant, account: a.id, client: client, rejected: rejectedToken)
            (password, generation) = (token.value, token.generation)
        } else {
            password = try a.secret.map {
                try secrets.openSecret($0, context: MailAccountRecord.secretContext(tenant: tenant, account: a.id, field: "smtp_secret"))
            } ?? Secret("")
        }
        let endpoint = SMTPEndpoint(host: host, port: a.port ?? (security == .tls ? 465 : 587), security: security, verifyTLS: a.verifyTLS,
                            authentication: authentication,
                            username: a.username ?? a.address, password: password,
                            heloName: a.address.split(separator: "@").last.map(String.init),
                            connectTimeout: importer.settings.connectTimeout, ioTimeout: importer.settings.ioTimeout,
                            policy: importer.settings.outboundPolicy)
        return (endpoint, generation)
    }

    /// Appends the sent message to the account's Sent folder (IMAP APPEND, \Seen). The email is sent
    /// whatever happens here, so a failure is logged, not thrown. The copy is never imported as new
    /// mail: its Message-ID is already the row's.
    private func appendToSent(_ email: OutgoingEmail, bytes: [UInt8], log: Logger) async {
        let tenant = email.tenantID
        do {
            guard let record = try await pool.transaction(tenant: tenant, {
                try MailAccountQueries.mailAccountGet($0, tenant: tenant, id: email.account.id)
            }) else { return }
            let folder = email.account.sentFolder ?? "Sent"
            // The poller's kept connection to this mailbox when there is one: no login per sent email.
            _ = try await importer.withIMAP(record, threadName: "imap-\(tenant)-\(record.id)") { imap in
                try await imap.run { try $0.append(folder, message: bytes) }
            }
        } catch {
            log.warning("storing sent mail failed", metadata: ["error": "\(error)"])
        }
    }
}

/// An SMTP account failure becomes a notification for the tenant's admins (group account) or the
/// owner (personal account). Called inside the transaction that recorded the failure and decided,
/// at most once a day per account, to alert.
enum SMTPFailureAlert {
    /// - Parameter logger: carries the tenant's metadata (`TenantDirectory.logger`); the account's is added here.
    static func notify(_ conn: PostgresConnection, tenant: TenantID, account: SMTPAccount, error: String, logger: Logger) throws {
        let alerted = try NotificationQueries.notificationCreateSMTPFailure(conn, tenant: tenant, account: account.id, error: error)
        var log = logger
        log[metadataKey: "tenant_id"] = "\(tenant)"
        log[metadataKey: "account_id"] = "\(account.id)"
        log.error("SMTP failure on mail account: alerted its people",
                  metadata: ["error": "\(error)", "notified_users": "\(alerted)",
                             "alerted": "\(account.kind == .group ? "tenant admins" : "owner")"])
    }
}
