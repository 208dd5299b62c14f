import Yams

/// Teams, roles and users.
extension ManifestReader {
    func readTeams(_ root: MappingReader) -> [Manifest.Team] {
        var registry = NameRegistry(kind: "team")
        var result: [Manifest.Team] = []
        for (path, node) in root.sequence("teams") {
            let team: Manifest.Team
            let nameNode: Node
            if case .scalar = node {
                // Shorthand `teams: [support]`: a team without positions.
                guard let name = MappingReader.string(node, path: path, diagnostics: diagnostics) else { continue }
                team = Manifest.Team(name: name)
                nameNode = node
            } else {
                guard let map = MappingReader(node, path: path, keys: ["name", "positions"], diagnostics: diagnostics),
                      let name = map.requiredString("name")
                else { continue }
                team = Manifest.Team(name: name, positions: map.strings("positions", kind: "position"))
                nameNode = map.value("name")!
            }
            guard registry.register(team.name, path: "\(path).name", node: nameNode, diagnostics: diagnostics)
            else { continue }
            teams[team.name] = team
            result.append(team)
        }
        return result
    }

    func readRoles(_ root: MappingReader) -> [Manifest.Role] {
        var result: [Manifest.Role] = []
        for (path, node) in root.sequence("roles") {
            guard let map = MappingReader(
                node, path: path, keys: ["name", "group_email_account_permission"], diagnostics: diagnostics),
                let name = map.requiredString("name")
            else { continue }
            let permission = map.enumeration("group_email_account_permission", default: Manifest.GroupEmailAccountPermission.no)
            guard roles.register(name, path: map.child("name"), node: map.value("name"), diagnostics: diagnostics)
            else { continue }
            result.append(Manifest.Role(name: name, groupEmailAccountPermission: permission))
        }
        return result
    }

    static let userKeys = ["username", "name", "emails", "active", "admin", "teams", "roles"]

    func readUsers(_ root: MappingReader) -> [Manifest.User] {
        var registry = NameRegistry(kind: "user")
        var result: [Manifest.User] = []
        for (path, node) in root.sequence("users") {
            guard let map = MappingReader(node, path: path, keys: Self.userKeys, diagnostics: diagnostics),
                  let username = map.requiredString("username")
            else { continue }
            let usernameOK = username.count <= 64 && username.first.map { $0.isLetter || $0.isNumber } == true
                && username.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "._-".contains($0)) }
            if !usernameOK {
                map.report("username", "invalid username \(quoted(username)) (use lowercase letters, digits, \".\", \"_\", \"-\")")
            }
            let emails = map.emails("emails")
            for email in emails {
                claim(email.address, owner: "user \(quoted(username))", path: email.path, node: email.node)
            }
            var user = Manifest.User(
                username: username, name: map.string("name") ?? username, emails: emails.map(\.address),
                active: map.bool("active", default: true), admin: map.bool("admin", default: false),
                teams: readMemberships(map), roles: [])
            var userRoles = NameRegistry(kind: "role")
            for (rolePath, roleNode) in map.sequence("roles") {
                guard let role = MappingReader.string(roleNode, path: rolePath, diagnostics: diagnostics) else { continue }
                guard roles.contains(role) else {
                    diagnostics.report(map.child("roles"), roleNode, "unknown role \(quoted(role))")
                    continue
                }
                _ = userRoles.register(role, path: rolePath, node: roleNode, diagnostics: diagnostics)
            }
            user.roles = userRoles.names
            guard usernameOK,
                  registry.register(username, path: map.child("username"), node: map.value("username"),
                                    diagnostics: diagnostics)
            else { continue }
            users[username] = user
            result.append(user)
        }
        return result
    }

    /// `teams: {support: agent, sales: ~}` (team → position or null), or `teams: [support, sales]`.
    private func readMemberships(_ map: MappingReader) -> [Manifest.Membership] {
        guard let node = map.value("teams") else { return [] }
        let path = map.child("teams")
        var entries: [(team: String, teamNode: Node, position: Node?)] = []
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard let team = MappingReader.string(key, path: path, diagnostics: diagnostics) else { continue }
                let isNull = value.null != nil
                entries.append((team, key, isNull ? nil : value))
            }
        case .sequence:
            for (itemPath, item) in map.sequence("teams") {
                guard let team = MappingReader.string(item, path: itemPath, diagnostics: diagnostics) else { continue }
                entries.append((team, item, nil))
            }
        default:
            diagnostics.report(path, node, "expected a mapping of team to position, or a list of teams")
            return []
        }
        var seen = NameRegistry(kind: "team")
        var result: [Manifest.Membership] = []
        for entry in entries {
            guard let team = teams[entry.team] else {
                diagnostics.report(path, entry.teamNode, "unknown team \(quoted(entry.team))")
                continue
            }
            guard seen.register(entry.team, path: path, node: entry.teamNode, diagnostics: diagnostics) else { continue }
            var position: String?
            if let positionNode = entry.position {
                let positionPath = "\(path).\(entry.team)"
                guard let name = MappingReader.string(positionNode, path: positionPath, diagnostics: diagnostics)
                else { continue }
                guard team.positions.contains(name) else {
                    diagnostics.report(positionPath, positionNode,
                                       "team \(quoted(team.name)) has no position \(quoted(name))")
                    continue
                }
                position = name
            }
            result.append(Manifest.Membership(team: team.name, position: position))
        }
        return result
    }
}
