import Foundation
import MailCore
import MailCrypto
import MailProvisioning
import MailStore
import MailTesting

/// A tenant for personal-account and filter tests: users alice and bob in team `support`, carol in no
/// team; group account `Support` on `group`; personal account `Alice mail` of alice on `personal`
/// (folders INBOX and Sent, Sent filed as sent); `filters` are YAML list items under `filters:`.
struct InboxTenant {
    var id: TenantID
    var slug: String
    var group: TestMailbox
    var personal: TestMailbox

    static func make(_ f: WorkerFixture, prefix: String, filters: [String] = [], personal: Bool = true) async throws -> InboxTenant {
        let group = try f.server.createMailbox(prefix: "\(prefix)-grp")
        let own = try f.server.createMailbox(prefix: "\(prefix)-own")
        try f.server.createFolder(own, folder: "Sent")
        let slug = TestDatabase.uniqueSlug(prefix)
        func imap(_ box: TestMailbox, _ env: String, folders: String) -> String {
            """
                imap: {host: \(f.server.host), port: \(f.server.imapPort), security: starttls, verify_tls: false,
                       username: \(box.address), password: env:\(env), folders: \(folders)}
            """
        }
        var yaml = """
            tenant: \(slug)
            teams: [{name: support}, {name: sales}]
            users:
              - {username: alice, name: Alice Archer, emails: [alice@acme.test], teams: [support, sales]}
              - {username: bob, name: Bob Baker, emails: [bob@acme.test], teams: [support]}
              - {username: carol, name: Carol Chen, emails: [carol@acme.test]}
            group_accounts:
              - name: Support
                address: support@acme.test
            \(imap(group, "GRP_PW", folders: "[INBOX]"))
                teams: [support]

            """
        if personal {
            yaml += """
                personal_accounts:
                  - name: Alice mail
                    owner: alice
                    address: alice@acme.test
                \(imap(own, "OWN_PW", folders: "[INBOX, Sent]"))
                    folder_map: {Sent: sent}

                """
        }
        if !filters.isEmpty {
            yaml += "filters:\n" + filters.map { "  - " + $0 }.joined(separator: "\n") + "\n"
        }
        let manifest = try ManifestParser.parse(yaml, environment: ["GRP_PW": group.password, "OWN_PW": own.password])
        let id = try await ManifestApplier(secrets: SecretBox(key: f.key)).apply(manifest, to: f.pool).tenantID
        return InboxTenant(id: id, slug: slug, group: group, personal: own)
    }
}

extension WorkerFixture {
    /// One user's copy of an email: (is_read, in_trash, folder, notify), nil when the user has none.
    func userCopy(_ tenant: TenantID, messageID: String, user: String) async throws -> (read: Bool, trash: Bool, folder: String?, notify: Bool)? {
        try await query(tenant) { conn in
            try conn.query("""
                SELECT eu.is_read, eu.in_trash, eu.folder, eu.notify FROM email_user eu
                JOIN email e ON e.tenant_id = eu.tenant_id AND e.id = eu.email_id
                JOIN app_user u ON u.tenant_id = eu.tenant_id AND u.id = eu.user_id
                WHERE e.message_id = \(messageID) AND u.username = \(user)
                """).first.map { (try $0.decode(at: 0), try $0.decode(at: 1), try $0.decode(at: 2), try $0.decode(at: 3)) }
        }
    }
}
