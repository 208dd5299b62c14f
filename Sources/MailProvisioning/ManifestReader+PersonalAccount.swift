import MailCore
import MailDomain
import Yams

/// Personal accounts and filters.
extension ManifestReader {
    static let personalAccountKeys = [
        "name", "owner", "address", "active", "imap", "smtp", "folder_map", "poll_interval", "max_message_size",
    ]
    static let filterKeys = [
        "name", "account", "user", "from", "to", "subject", "header", "body_any", "body_all", "action", "folder", "position",
    ]

    func readPersonalAccounts(_ root: MappingReader) -> [Manifest.PersonalAccount] {
        var registry = NameRegistry(kind: "personal account")
        var perOwner: [String: Int] = [:]
        var result: [Manifest.PersonalAccount] = []
        for (path, node) in root.sequence("personal_accounts") {
            guard let map = MappingReader(node, path: path, keys: Self.personalAccountKeys, diagnostics: diagnostics)
            else { continue }
            let name = map.requiredString("name")
            if let name {
                _ = registry.register(name, path: map.child("name"), node: map.value("name"), diagnostics: diagnostics)
            }
            let owner = map.requiredString("owner")
            if let owner {
                if users[owner] == nil {
                    map.report("owner", "unknown user \(quoted(owner))")
                } else {
                    perOwner[owner, default: 0] += 1
                    if perOwner[owner]! > settings.maxPersonalAccounts {
                        map.report("owner", "user \(quoted(owner)) has more than \(settings.maxPersonalAccounts) personal account(s) (tenant.settings.max_personal_accounts)")
                    }
                }
            }
            // A personal mailbox may share an address with a group account or its owner: not claimed.
            let address = map.has("address") ? map.email("address") : nil
            if !map.has("address") { map.reportMissing("address") }
            let active = map.bool("active", default: true)
            let imap = readIMAP(map, address: address)
            let smtp = readSMTP(map, address: address, imap: imap)
            var folderMap: [String: String] = [:]
            if let mapNode = map.value("folder_map") {
                let mapPath = map.child("folder_map")
                if case .mapping(let entries) = mapNode {
                    for (key, value) in entries {
                        guard let folder = MappingReader.string(key, path: mapPath, diagnostics: diagnostics),
                              let target = MappingReader.string(value, path: "\(mapPath).\(folder)", diagnostics: diagnostics)
                        else { continue }
                        if let imap, !imap.folders.contains(folder) {
                            diagnostics.report(mapPath, key, "folder \(quoted(folder)) is not one of imap.folders")
                        }
                        if target.isEmpty { diagnostics.report("\(mapPath).\(folder)", value, "must name a folder") }
                        folderMap[folder] = target
                    }
                } else {
                    diagnostics.report(mapPath, mapNode, "expected a mapping of IMAP folder to user folder")
                }
            }
            let pollInterval = map.duration("poll_interval", default: Manifest.GroupAccount.defaultPollInterval,
                                            minimum: Manifest.GroupAccount.minimumPollInterval)
            let maxMessageSize = map.byteSize("max_message_size", default: Manifest.GroupAccount.defaultMaxMessageSize)
            guard let name, let owner, let address, let imap else { continue }
            result.append(Manifest.PersonalAccount(
                name: name, owner: owner, address: address, active: active, imap: imap, smtp: smtp, folderMap: folderMap,
                pollInterval: pollInterval, maxMessageSize: maxMessageSize))
        }
        return result
    }

    func readFilters(_ root: MappingReader, groupAccounts: [Manifest.GroupAccount],
                     personalAccounts: [Manifest.PersonalAccount]) -> [Manifest.Filter] {
        var registry = NameRegistry(kind: "filter")
        var result: [Manifest.Filter] = []
        for (path, node) in root.sequence("filters") {
            guard let map = MappingReader(node, path: path, keys: Self.filterKeys, diagnostics: diagnostics) else { continue }
            let name = map.requiredString("name")
            if let name {
                _ = registry.register(name, path: map.child("name"), node: map.value("name"), diagnostics: diagnostics)
            }
            let account = map.string("account"), user = map.string("user")
            if account != nil && user != nil { map.report("user", "a filter is for an account or a user, not both") }
            if let account, !groupAccounts.contains(where: { $0.name == account }),
               !personalAccounts.contains(where: { $0.name == account }) {
                map.report("account", "unknown account \(quoted(account))")
            }
            if let user, users[user] == nil { map.report("user", "unknown user \(quoted(user))") }
            var header: EmailFilter.Criteria.HeaderCriterion?
            if let h = map.mapping("header", keys: ["name", "value"]) {
                if let n = h.requiredString("name"), let v = h.requiredString("value") { header = .init(name: n, pattern: v) }
            }
            let criteria = EmailFilter.Criteria(
                from: map.string("from"), toOrCc: map.string("to"), subject: map.string("subject"), header: header,
                bodyContainsAny: map.strings("body_any", kind: "text"), bodyContainsAll: map.strings("body_all", kind: "text"))
            let scope: EmailFilter.Scope = user != nil ? .user : account != nil ? .account : .global
            let kind = map.requiredString("action")
            let folder = map.string("folder")
            var action: EmailFilter.Action?
            if let kind {
                action = EmailFilter.Action(kind: kind, folder: folder)
                if action == nil {
                    map.report("action", kind == "folder" ? "needs folder" : "unknown action \(quoted(kind)) (skip, folder, mark_read, no_notify)")
                } else if kind != "folder" && folder != nil {
                    map.report("folder", "only used with action folder")
                }
            }
            let position = map.int("position", default: 0, in: 0...1_000_000) ?? 0
            guard let name, let action else { continue }
            let filter = Manifest.Filter(name: name, scope: scope, account: account, user: user, criteria: criteria,
                                         action: action, position: position)
            let check = EmailFilter(name: name, scope: scope, criteria: criteria, action: action)
            if let problem = check.problem {
                diagnostics.report(path, node, "filter \(quoted(name)) \(problem)")
                continue
            }
            result.append(filter)
        }
        return result
    }
}
