import Foundation
import Yams

/// A group account's `case` and `auto_reply` sections.
extension ManifestReader {
    static let caseKeys = [
        "create", "distribution", "team", "position", "assign_to", "add_all_team_users", "reopen", "number_trust",
        "sender_limit",
        "priority",
    ]
    static let autoReplyKeys = ["enabled", "subject", "body", "from_address", "from_name", "reply_to", "limit"]

    func readCaseRules(_ account: MappingReader) -> Manifest.CaseRules {
        var rules = Manifest.CaseRules()
        guard let map = account.mapping("case", keys: Self.caseKeys) else { return rules }
        rules.create = map.bool("create", default: false)
        rules.distribution = map.enumeration("distribution", default: Manifest.Distribution.direct)
        rules.addAllTeamUsers = map.bool("add_all_team_users", default: true)
        rules.numberTrust = map.enumeration("number_trust", default: Manifest.NumberTrust.related)
        rules.priority = map.int("priority", default: 0, in: Manifest.CaseRules.priorityRange) ?? 0

        var team: Manifest.Team?
        if let name = map.string("team") {
            team = teams[name]
            if team == nil { map.report("team", "unknown team \(quoted(name))") } else { rules.team = name }
        }
        if let position = map.string("position") {
            if let team, !team.positions.contains(position) {
                map.report("position", "team \(quoted(team.name)) has no position \(quoted(position))")
            } else if team != nil {
                rules.position = position
            } else if !map.has("team") {
                map.report("position", "needs case.team")
            }
        }
        if let username = map.string("assign_to") {
            if let user = users[username] {
                if !user.active { map.report("assign_to", "user \(quoted(username)) is inactive") }
                rules.assignTo = username
            } else {
                map.report("assign_to", "unknown user \(quoted(username))")
            }
        }
        if let reopen = map.mapping("reopen", keys: ["enabled", "status"]) {
            rules.reopen.enabled = reopen.bool("enabled", default: false)
            if let status = reopen.string("status") {
                if settings.closedCaseStatuses.contains(status) {
                    reopen.report("status", "\(quoted(status)) is a closed status")
                }
                rules.reopen.status = status
            }
        }
        if let limit = map.mapping("sender_limit", keys: ["cases", "reopens", "window"]) {
            let counts = Manifest.SenderLimit.counts, windows = Manifest.SenderLimit.windows
            rules.senderLimit.cases = limit.int("cases", default: rules.senderLimit.cases, in: counts)!
            rules.senderLimit.reopens = limit.int("reopens", default: rules.senderLimit.reopens, in: counts)!
            rules.senderLimit.window = limit.duration("window", default: rules.senderLimit.window, minimum: windows.lowerBound,
                                                      maximum: windows.upperBound)
        }
        checkDistribution(map, rules: rules, team: team)
        return rules
    }

    /// When cases are created, the distribution must be able to pick someone.
    private func checkDistribution(_ map: MappingReader, rules: Manifest.CaseRules, team: Manifest.Team?) {
        guard rules.create else { return }
        switch rules.distribution {
        case .direct:
            if !map.has("assign_to") { map.reportMissing("assign_to", "required when distribution is direct") }
        case .roundRobin, .lessBusy:
            let distribution = rules.distribution.rawValue
            guard map.has("team") else {
                map.reportMissing("team", "required when distribution is \(distribution)")
                return
            }
            guard let team else { return }
            let candidates = users.values.filter { user in
                guard user.active, let membership = user.membership(in: team.name) else { return false }
                return rules.position == nil || membership.position == rules.position
            }
            // With `assign_to` as fallback an empty team still gets its cases handled.
            if candidates.isEmpty, rules.assignTo == nil {
                let qualifier = rules.position.map { " with position \(quoted($0))" } ?? ""
                map.report("team", "team \(quoted(team.name)) has no active user\(qualifier) to distribute to")
            }
        }
    }

    func readAutoReply(
        _ account: MappingReader, address: Manifest.EmailAddress, displayName: String, createsCases: Bool
    ) -> Manifest.AutoReply {
        var reply = Manifest.AutoReply(fromAddress: address, fromName: displayName)
        guard let map = account.mapping("auto_reply", keys: Self.autoReplyKeys) else { return reply }
        reply.enabled = map.bool("enabled", default: false)
        if let subject = map.string("subject") { reply.subject = subject }
        if let body = map.string("body") { reply.body = body }
        if reply.enabled, !map.has("body") { map.reportMissing("body", "required when auto_reply is enabled") }
        for key in ["subject", "body"] where map.has(key) {
            checkPlaceholders(map, key: key, template: key == "subject" ? reply.subject : reply.body,
                              createsCases: createsCases)
        }
        if let from = map.email("from_address") { reply.fromAddress = from }
        if let name = map.string("from_name") { reply.fromName = name }
        reply.replyTo = map.email("reply_to")
        if let limit = map.mapping("limit", keys: ["count", "window"]) {
            reply.limit.count = limit.int("count", default: reply.limit.count, in: 1...1000)!
            reply.limit.window = limit.duration("window", default: reply.limit.window, minimum: .seconds(60))
        }
        return reply
    }

    /// Templates may use only `AutoReply.placeholders`, written `{{name}}`; `case.*` needs case creation.
    private func checkPlaceholders(_ map: MappingReader, key: String, template: String, createsCases: Bool) {
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                map.report(key, "unclosed \"{{\"")
                return
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !Manifest.AutoReply.placeholders.contains(name) {
                let known = Manifest.AutoReply.placeholders.map { "{{\($0)}}" }.joined(separator: ", ")
                map.report(key, "unknown placeholder \(quoted("{{\(name)}}")) (known: \(known))")
            } else if name.hasPrefix("case."), !createsCases {
                map.report(key, "\(quoted("{{\(name)}}")) needs case.create: true")
            }
            rest = rest[close.upperBound...]
        }
    }
}
