import MailCore
import MailDomain
import Yams

/// Reads one manifest document into a `Manifest`, section by section in dependency order (tenant, teams,
/// roles, users, records, OAuth clients, accounts) whatever their order in the file, so each section can check its
/// references against the sections it depends on. Problems go to `diagnostics`.
final class ManifestReader {
    static let rootKeys = ["version", "tenant", "teams", "roles", "users", "records", "group_accounts", "personal_accounts", "filters", "oauth_clients", "api_keys", "webhooks"]

    let diagnostics = Diagnostics()
    let environment: [String: String]

    var settings = Manifest.Settings()
    var teams: [String: Manifest.Team] = [:]
    var roles = NameRegistry(kind: "role")
    var users: [String: Manifest.User] = [:]
    var accounts = NameRegistry(kind: "account")
    var contacts = NameRegistry(kind: "contact")
    /// Every `oauth_clients[].name`, valid or not (so a broken client is not also reported as unknown).
    var oauthClientNames = NameRegistry(kind: "OAuth client")
    /// The valid clients by name, for accounts' `oauth_client` and their preset servers.
    var oauthClients: [String: Manifest.OAuthClient] = [:]
    /// Who owns each lowercased user or group account address, for uniqueness across both.
    var addressOwners: [String: String] = [:]

    init(environment: [String: String]) { self.environment = environment }

    /// The manifest, or nil when a required part is missing; problems are in `diagnostics` either way.
    func read(_ root: Node) -> Manifest? {
        guard let map = MappingReader(root, path: "", keys: Self.rootKeys, diagnostics: diagnostics) else {
            return nil
        }
        if let version = map.int("version", default: 1, in: 0...Int.max), version != 1 {
            map.report("version", "unsupported manifest version \(version) (only 1 exists)")
        }
        let tenant = readTenant(map)
        let teams = readTeams(map)
        let roles = readRoles(map)
        let users = readUsers(map)
        let records = readRecords(map)
        let oauthClients = readOAuthClients(map)
        let groupAccounts = readGroupAccounts(map)
        let personalAccounts = readPersonalAccounts(map)
        let filters = readFilters(map, groupAccounts: groupAccounts, personalAccounts: personalAccounts)
        let apiKeys = readAPIKeys(map)
        let webhooks = readWebhooks(map)
        guard let tenant else { return nil }
        return Manifest(
            version: 1, tenant: tenant, teams: teams, roles: roles, users: users, records: records,
            groupAccounts: groupAccounts, personalAccounts: personalAccounts, filters: filters,
            oauthClients: oauthClients, apiKeys: apiKeys, webhooks: webhooks)
    }

    /// Claims `address` for `owner`; reports if a user or group account already has it.
    func claim(_ address: Manifest.EmailAddress, owner: String, path: String, node: Node) {
        if let existing = addressOwners[address.address] {
            diagnostics.report(path, node, "address \(quoted(address.address)) already belongs to \(existing)")
        } else {
            addressOwners[address.address] = owner
        }
    }

    // MARK: Tenant

    private func readTenant(_ root: MappingReader) -> Manifest.Tenant? {
        guard let node = root.value("tenant") else {
            root.reportMissing("tenant")
            return nil
        }
        // Shorthand `tenant: acme` is the slug alone.
        if case .scalar = node {
            guard let slug = validSlug(node, path: "tenant") else { return nil }
            return Manifest.Tenant(slug: slug)
        }
        guard let map = root.mapping("tenant", keys: ["slug", "name", "settings"]) else { return nil }
        let slug: String?
        if let node = map.value("slug") {
            slug = validSlug(node, path: map.child("slug"))
        } else {
            map.reportMissing("slug")
            slug = nil
        }
        let name = map.string("name")
        if let settingsMap = map.mapping(
            "settings", keys: ["closed_case_statuses", "business_to_consumer", "max_personal_accounts", "remote_images", "oauth_send_wait",
                               "events", "event_retention", "soft_bounce_limit", "soft_bounce_window"])
        {
            if settingsMap.has("closed_case_statuses") {
                settings.closedCaseStatuses = settingsMap.strings("closed_case_statuses", kind: "status")
            }
            settings.businessToConsumer = settingsMap.bool("business_to_consumer", default: false)
            settings.maxPersonalAccounts =
                settingsMap.int("max_personal_accounts", default: settings.maxPersonalAccounts, in: 0...100)!
            settings.remoteImages = settingsMap.enumeration("remote_images", default: settings.remoteImages)
            let range = Manifest.Settings.oauthSendWaitRange
            settings.oauthSendWait = settingsMap.duration("oauth_send_wait", default: settings.oauthSendWait,
                                                          minimum: range.lowerBound, maximum: range.upperBound)
            settings.events = settingsMap.bool("events", default: true)
            let retention = Manifest.Settings.eventRetentionRange
            settings.eventRetention = settingsMap.duration("event_retention", default: settings.eventRetention,
                                                           minimum: retention.lowerBound, maximum: retention.upperBound)
            settings.softBounceLimit = settingsMap.int("soft_bounce_limit", default: settings.softBounceLimit,
                                                       in: Manifest.Settings.softBounceLimitRange) ?? settings.softBounceLimit
            let window = Manifest.Settings.softBounceWindowRange
            settings.softBounceWindow = settingsMap.duration("soft_bounce_window", default: settings.softBounceWindow,
                                                             minimum: window.lowerBound, maximum: window.upperBound)
        }
        guard let slug else { return nil }
        return Manifest.Tenant(slug: slug, name: name, settings: settings)
    }

    private func validSlug(_ node: Node, path: String) -> String? {
        guard let slug = MappingReader.string(node, path: path, diagnostics: diagnostics) else { return nil }
        let allowed = slug.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
        guard allowed, slug.count <= 63, slug.first?.isLetter == true, slug.last != "-" else {
            diagnostics.report(path, node, "invalid tenant slug \(quoted(slug)) (use lowercase letters, digits and \"-\", starting with a letter)")
            return nil
        }
        return slug
    }
}
