import Foundation
import MailCore
import MailCrypto
import MailDomain
import MailStore

/// Writes a parsed `Manifest` to the database: one tenant, in one transaction.
///
/// Declarative for what the manifest owns (team positions, memberships, roles of listed users,
/// addresses of listed users and records, group accounts' teams and folders) and non-destructive for
/// the rest: users, records and accounts that the manifest does not list are left alone, and a folder
/// dropped from an account is deactivated with its cursor kept. Every write is conditional on a real
/// change, so applying the same manifest twice changes nothing (not even a row version).
public struct ManifestApplier: Sendable {
    public struct Outcome: Sendable, Equatable {
        public var tenantID: TenantID
        /// Rows created, updated or removed.
        public var changes: Int
    }

    let secrets: SecretBox

    public init(secrets: SecretBox) {
        self.secrets = secrets
    }

    public func apply(_ manifest: Manifest, to pool: PostgresPool) async throws -> Outcome {
        let secrets = self.secrets
        return try await pool.withConnection { conn in
            try conn.transaction {
                let m = manifest
                let (tenant, tenantChanges) = try DirectoryQueries.tenantUpsert(
                    conn, slug: m.tenant.slug, name: m.tenant.name, closedStatuses: m.tenant.settings.closedCaseStatuses,
                    businessToConsumer: m.tenant.settings.businessToConsumer,
                    maxPersonalAccounts: m.tenant.settings.maxPersonalAccounts, remoteImages: m.tenant.settings.remoteImages,
                    oauthSendWait: m.tenant.settings.oauthSendWait, events: m.tenant.settings.events,
                    eventRetention: m.tenant.settings.eventRetention, softBounceLimit: m.tenant.settings.softBounceLimit,
                    softBounceWindow: m.tenant.settings.softBounceWindow)
                // Everything below is tenant-owned: scope the rest of the transaction (row-level security).
                try conn.execute("SELECT set_config('mailroom.tenant_id', \(tenant.description), true)")
                let rows = try Self.applyTenantRows(m, tenant: tenant, conn: conn, secrets: secrets)
                return Outcome(tenantID: tenant, changes: tenantChanges + rows)
            }
        }
    }

    private static func applyTenantRows(_ m: Manifest, tenant: TenantID, conn: PostgresConnection, secrets: SecretBox) throws -> Int {
        var n = 0
        var teams: [String: TeamID] = [:]
        for t in m.teams {
            let (id, c) = try DirectoryQueries.teamUpsert(conn, tenant: tenant, name: t.name, positions: t.positions)
            teams[t.name] = id
            n += c
        }
        var roles: [String: Int64] = [:]
        for r in m.roles {
            let (id, c) = try DirectoryQueries.roleUpsert(conn, tenant: tenant, name: r.name, groupPermission: r.groupEmailAccountPermission.rawValue)
            roles[r.name] = id
            n += c
        }
        var users: [String: UserID] = [:]
        for u in m.users {
            let (id, c) = try DirectoryQueries.userUpsert(conn, tenant: tenant, username: u.username, name: u.name,
                                                          isActive: u.active, isAdmin: u.admin)
            users[u.username] = id
            n += c
            n += try DirectoryQueries.addressesSync(conn, tenant: tenant, owner: .user(id), addresses: u.emails.map(\.address))
            n += try DirectoryQueries.userMembershipsSync(conn, tenant: tenant, user: id,
                                                          memberships: u.teams.compactMap { mb in teams[mb.team].map { ($0, mb.position) } })
            n += try DirectoryQueries.userRolesSync(conn, tenant: tenant, user: id, roles: u.roles.compactMap { roles[$0] })
        }
        var accounts: [String: Int64] = [:]
        for a in m.records.accounts {
            let (id, c) = try DirectoryQueries.crmAccountUpsert(conn, tenant: tenant, name: a.name)
            accounts[a.name] = id
            n += c + (try DirectoryQueries.addressesSync(conn, tenant: tenant, owner: .account(id), addresses: a.emails.map(\.address)))
        }
        for c in m.records.contacts {
            let (id, k) = try DirectoryQueries.contactUpsert(conn, tenant: tenant, name: c.name, account: c.account.flatMap { accounts[$0] })
            n += k + (try DirectoryQueries.addressesSync(conn, tenant: tenant, owner: .contact(id), addresses: c.emails.map(\.address)))
        }
        for l in m.records.leads {
            let (id, k) = try DirectoryQueries.leadUpsert(conn, tenant: tenant, name: l.name)
            n += k + (try DirectoryQueries.addressesSync(conn, tenant: tenant, owner: .lead(id), addresses: l.emails.map(\.address)))
        }
        for o in m.records.opportunities {
            n += try DirectoryQueries.opportunityUpsert(conn, tenant: tenant, name: o.name, account: accounts[o.account]).1
        }
        var clients: [String: Int64] = [:]
        for c in m.oauthClients {
            let (id, k) = try applyOAuthClient(c, tenant: tenant, conn: conn, secrets: secrets)
            clients[c.name] = id
            n += k
        }
        var mailAccounts: [String: AccountID] = [:]
        for g in m.groupAccounts {
            n += try applyGroupAccount(g, tenant: tenant, teams: teams, users: users, clients: clients, conn: conn, secrets: secrets)
            mailAccounts[g.name] = try MailAccountQueries.mailAccountFind(conn, tenant: tenant, nameOrAddress: g.name)
        }
        for p in m.personalAccounts {
            guard let owner = users[p.owner] else { continue }
            let (id, c) = try applyPersonalAccount(p, owner: owner, tenant: tenant, clients: clients, conn: conn, secrets: secrets)
            mailAccounts[p.name] = id
            n += c
        }
        n += try applyWebhooks(m.webhooks, tenant: tenant, conn: conn, secrets: secrets)
        for f in m.filters {
            n += try EmailFilterQueries.emailFilterUpsert(conn, tenant: tenant, EmailFilter(
                name: f.name, scope: f.scope, accountID: f.account.flatMap { mailAccounts[$0] },
                userID: f.user.flatMap { users[$0] }, criteria: f.criteria, action: f.action, position: f.position))
        }
        n += try applyAPIKeys(m.apiKeys, tenant: tenant, conn: conn)
        return n
    }

    /// The manifest's API keys: a listed key is stored (replacing the live manifest key of that name
    /// when the key changed: rotation), a manifest key no longer listed is revoked. Keys made with
    /// `mailroom api-key create` are left alone, and a name one of them holds is refused.
    private static func applyAPIKeys(_ keys: [Manifest.APIKeyEntry], tenant: TenantID, conn: PostgresConnection) throws -> Int {
        var n = 0
        for entry in keys {
            let hash = entry.key.secretHash
            if let live = try APIKeyQueries.apiKeyGetLive(conn, tenant: tenant, name: entry.name) {
                guard live.record.managedBy == .manifest else {
                    throw ManifestError(path: "api_keys", line: nil, message: "API key \(quoted(entry.name)) was made with "
                        + "`mailroom api-key create`: revoke it first or give the manifest's key another name")
                }
                if live.record.keyID == entry.key.keyID && live.secretHash == hash { continue }
                n += try APIKeyQueries.apiKeyRevoke(conn, tenant: tenant, name: entry.name)
            }
            guard try !APIKeyQueries.apiKeyIDExists(conn, keyID: entry.key.keyID) else {
                throw ManifestError(path: "api_keys", line: nil, message: "API key \(quoted(entry.name)): key id "
                    + "\(entry.key.keyID) is already in use or was revoked; generate a new key")
            }
            try APIKeyQueries.apiKeyCreate(conn, tenant: tenant, name: entry.name, keyID: entry.key.keyID, secretHash: hash,
                                           managedBy: .manifest)
            n += 1
        }
        return n + (try APIKeyQueries.apiKeyRevokeManifestExcept(conn, tenant: tenant, keep: keys.map(\.name)))
    }

    /// The OAuth client an account's IMAP or SMTP logs in through (the parser made them the same one).
    private static func oauthClient(_ imap: Manifest.IMAP, _ smtp: Manifest.SMTP?, _ clients: [String: Int64]) -> Int64? {
        (imap.oauthClient ?? smtp?.oauthClient).flatMap { clients[$0] }
    }

    private static func applyOAuthClient(_ c: Manifest.OAuthClient, tenant: TenantID, conn: PostgresConnection,
                                         secrets: SecretBox) throws -> (Int64, Int) {
        let (id, k) = try OAuthClientQueries.clientUpsert(conn, tenant: tenant, .init(
            name: c.name, provider: c.provider.rawValue, clientID: c.clientID, directory: c.directory,
            authorizationURL: c.authorizationURL, tokenURL: c.tokenURL, deviceAuthorizationURL: c.deviceAuthorizationURL,
            scopes: c.scopes, secretExpiresOn: c.secretExpiresAt?.description))
        let old = try OAuthClientQueries.clientGetSecret(conn, tenant: tenant, id: id)
        let sealed = try reseal(c.clientSecret, old: old, context: OAuthClientRecord.secretContext(tenant: tenant, client: id), secrets: secrets)
        return (id, k + (try OAuthClientQueries.clientSetSecret(conn, tenant: tenant, id: id, secret: sealed)))
    }

    /// Upserts each endpoint with its secret sealed against its row, and deletes the tenant's
    /// endpoints the manifest no longer lists (their delivery jobs with them).
    private static func applyWebhooks(_ webhooks: [Manifest.Webhook], tenant: TenantID, conn: PostgresConnection,
                                      secrets: SecretBox) throws -> Int {
        var n = 0
        for w in webhooks {
            let (id, k) = try WebhookQueries.webhookUpsert(conn, tenant: tenant, .init(
                name: w.name, url: w.url, eventTypes: w.events,
                retryWindow: Double(w.retryWindow.components.seconds), batchSize: w.batchSize))
            let old = try WebhookQueries.webhookGetSecret(conn, tenant: tenant, id: id)
            let context = WebhookEndpointRecord.secretContext(tenant: tenant, endpoint: id)
            guard let sealed = try reseal(w.secret, old: old, context: context, secrets: secrets) else { continue }
            n += k + (try WebhookQueries.webhookSetSecret(conn, tenant: tenant, id: id, secret: sealed))
        }
        return n + (try WebhookQueries.webhookDeleteOthers(conn, tenant: tenant, keep: webhooks.map(\.name)).count)
    }

    private static func applyPersonalAccount(_ p: Manifest.PersonalAccount, owner: UserID, tenant: TenantID,
                                             clients: [String: Int64], conn: PostgresConnection,
                                             secrets: SecretBox) throws -> (AccountID, Int) {
        var settings = MailAccountQueries.PersonalAccountSettings(
            name: p.name, owner: owner, address: p.address.address, isActive: p.active, imapHost: p.imap.host,
            imapPort: p.imap.port, imapSecurity: p.imap.security.rawValue, imapVerifyTLS: p.imap.verifyTLS,
            imapUsername: p.imap.username, fetchSince: p.imap.fetchSince?.description, keepUnread: p.imap.keepUnread,
            maxMessageSize: p.maxMessageSize, pollIntervalSeconds: Int(p.pollInterval.components.seconds),
            sentFolder: p.imap.sentFolder, smtpHost: p.smtp?.host, smtpPort: p.smtp?.port,
            smtpSecurity: p.smtp?.security.rawValue ?? "starttls", smtpVerifyTLS: p.smtp?.verifyTLS ?? true,
            smtpUsername: p.smtp?.username, smtpAuth: p.smtp?.auth.rawValue ?? "plain")
        settings.imapAuth = p.imap.auth.rawValue
        settings.smtpMaxConnections = p.smtp?.maxConnections ?? Manifest.SMTP.defaultMaxConnections
        settings.oauthClientID = oauthClient(p.imap, p.smtp, clients)
        let (id, c) = try MailAccountQueries.mailAccountUpsertPersonal(conn, tenant: tenant, settings)
        var n = c
        n += try MailAccountQueries.mailAccountSetIdle(conn, tenant: tenant, id: id, idle: p.imap.idle)
        n += try setSecrets(id: id, tenant: tenant, imap: p.imap.password, smtp: p.smtp?.password, conn: conn, secrets: secrets)
        n += try MailAccountQueries.mailAccountFoldersSync(conn, tenant: tenant, id: id, folders: p.folderTargets)
        return (id, n)
    }

    /// Re-seals a secret only when it changed or an older key sealed it: sealing uses a fresh nonce, so
    /// re-sealing an unchanged password would rewrite the row on every apply.
    private static func setSecrets(id: AccountID, tenant: TenantID, imap: Secret?, smtp: Secret?, conn: PostgresConnection,
                                   secrets: SecretBox) throws -> Int {
        let existing = try MailAccountQueries.mailAccountGetSecrets(conn, tenant: tenant, id: id)
        func sealed(_ new: Secret?, old: [UInt8]?, field: String) throws -> [UInt8]? {
            try reseal(new, old: old, context: MailAccountRecord.secretContext(tenant: tenant, account: id, field: field),
                       secrets: secrets)
        }
        return try MailAccountQueries.mailAccountSetSecrets(
            conn, tenant: tenant, id: id, imap: try sealed(imap, old: existing.imap, field: "imap_secret"),
            smtp: try sealed(smtp, old: existing.smtp, field: "smtp_secret"))
    }

    /// `new` sealed under `context`: the stored `old` when it already holds that value under the
    /// current key, else a fresh seal; nil when there is no secret.
    private static func reseal(_ new: Secret?, old: [UInt8]?, context: String, secrets: SecretBox) throws -> [UInt8]? {
        guard let new else { return nil }
        if let old, let current = try? secrets.openSecret(old, context: context), current == new,
           SecretBox.sealer(of: old) == .key(secrets.currentKeyID) { return old }
        return try secrets.seal(new, context: context)
    }

    private static func applyGroupAccount(_ g: Manifest.GroupAccount, tenant: TenantID, teams: [String: TeamID],
                                          users: [String: UserID], clients: [String: Int64], conn: PostgresConnection,
                                          secrets: SecretBox) throws -> Int {
        let window = g.autoReply.limit.window.components.seconds
        var settings = GroupAccountSettings(
            name: g.name, address: g.address.address, displayName: g.displayName, replyTo: g.replyTo?.address,
            isActive: g.active, imapHost: g.imap.host, imapPort: g.imap.port, imapSecurity: g.imap.security.rawValue,
            imapVerifyTLS: g.imap.verifyTLS, imapUsername: g.imap.username, fetchSince: g.imap.fetchSince?.description,
            keepUnread: g.imap.keepUnread, maxMessageSize: g.maxMessageSize,
            pollIntervalSeconds: Int(g.pollInterval.components.seconds), sentFolder: g.imap.sentFolder,
            smtpHost: g.smtp?.host, smtpPort: g.smtp?.port, smtpSecurity: g.smtp?.security.rawValue ?? "starttls",
            smtpVerifyTLS: g.smtp?.verifyTLS ?? true, smtpUsername: g.smtp?.username, smtpAuth: g.smtp?.auth.rawValue ?? "plain",
            smtpShared: g.smtp?.shared ?? false, smtpStoreSent: g.smtp?.storeSent ?? false,
            caseCreate: g.caseRules.create, caseDistribution: g.caseRules.distribution.rawValue,
            caseTeamID: g.caseRules.team.flatMap { teams[$0] }, casePosition: g.caseRules.position,
            caseAssignUserID: g.caseRules.assignTo.flatMap { users[$0] }, caseAddAllTeamUsers: g.caseRules.addAllTeamUsers,
            caseReopenEnabled: g.caseRules.reopen.enabled, caseReopenStatus: g.caseRules.reopen.status,
            caseNumberTrust: g.caseRules.numberTrust.rawValue, autoReplyEnabled: g.autoReply.enabled,
            autoReplySubject: g.autoReply.subject, autoReplyBody: g.autoReply.body,
            autoReplyFromAddress: g.autoReply.fromAddress.address, autoReplyFromName: g.autoReply.fromName,
            autoReplyReplyTo: g.autoReply.replyTo?.address, autoReplyLimitCount: g.autoReply.limit.count,
            autoReplyLimitWindowSeconds: Int(window))
        settings.imapAuth = g.imap.auth.rawValue
        settings.smtpMaxConnections = g.smtp?.maxConnections ?? Manifest.SMTP.defaultMaxConnections
        settings.oauthClientID = oauthClient(g.imap, g.smtp, clients)
        let (id, c) = try MailAccountQueries.mailAccountUpsertGroup(conn, tenant: tenant, settings)
        var n = c
        n += try MailAccountQueries.mailAccountSetIdle(conn, tenant: tenant, id: id, idle: g.imap.idle)
        n += try setSecrets(id: id, tenant: tenant, imap: g.imap.password, smtp: g.smtp?.password, conn: conn, secrets: secrets)
        n += try MailAccountQueries.mailAccountSetSenderLimit(conn, tenant: tenant, id: id, g.caseRules.senderLimit)
        n += try MailAccountQueries.mailAccountSetCaseOwner(conn, tenant: tenant, id: id, aliases: g.aliases.map(\.address),
                                                            priority: g.caseRules.priority)
        n += try MailAccountQueries.mailAccountTeamsSync(conn, tenant: tenant, id: id, teams: g.teams.compactMap { teams[$0] })
        // A monitored folder that is also the Sent folder files its mail as sent.
        let folders = g.imap.folders.map { (name: $0, target: $0 == g.imap.sentFolder ? "sent" : "inbox") }
        n += try MailAccountQueries.mailAccountFoldersSync(conn, tenant: tenant, id: id, folders: folders)
        return n
    }
}
