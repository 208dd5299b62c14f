import Foundation
import Testing
@testable import MailProvisioning

/// The sample manifest from the specification, identical to `examples/acme.yaml` minus comments.
let acmeSample = """
tenant: acme
teams: [{name: support, positions: [agent, lead]}]
roles: [{name: agents, group_email_account_permission: team}]
users:
  - {username: alice, name: Alice Archer, emails: [alice@acme.test], teams: {support: agent}, roles: [agents]}
  - {username: bob, name: Bob Baker, emails: [bob@acme.test], teams: {support: agent}, roles: [agents]}
  - {username: carol, name: Carol Chen, emails: [carol@acme.test], teams: {support: lead}, active: false}
  - {username: root, name: Admin, emails: [admin@acme.test], admin: true}
records:
  accounts: [{name: Initech, emails: [info@initech.test]}]
  contacts: [{name: Peter Gibbons, emails: [peter@initech.test, pg@home.test], account: Initech}]
  leads: [{name: Samir Nagheenanajar, emails: [samir@prospect.test]}]
group_accounts:
  - name: Support
    address: support@acme.test
    imap: {host: 127.0.0.1, port: 14143, security: starttls, verify_tls: false,
           username: support@acme.test, password: env:ACME_SUPPORT_PASSWORD, folders: [INBOX],
           fetch_since: 2026-01-01, keep_unread: false}
    smtp: {host: 127.0.0.1, port: 14587, security: starttls, verify_tls: false,
           username: support@acme.test, password: env:ACME_SUPPORT_PASSWORD, shared: true}
    teams: [support]
    poll_interval: 30s
    max_message_size: 10MB
    case: {create: true, distribution: round_robin, team: support, position: agent, assign_to: alice}
    auto_reply: {enabled: true, subject: "Re: {{subject}} [#{{case.number}}]", body: "We got your message."}
"""

/// A small valid manifest that error tests change one line of. Lines:
/// 1 tenant, 2 teams, 3 users, 4 alice, 5 group_accounts, 6 name, 7 address, 8 imap.
let minimalLines = [
    "tenant: acme",
    "teams: [{name: support, positions: [agent]}]",
    "users:",
    "  - {username: alice, emails: [alice@acme.test], teams: {support: agent}}",
    "group_accounts:",
    "  - name: Support",
    "    address: support@acme.test",
    "    imap: {host: 127.0.0.1, password: env:PW}",
]

let testEnvironment = ["PW": "Env-Secret-Value", "ACME_SUPPORT_PASSWORD": "acme-imap-pass"]

/// `minimalLines` with the given 1-based lines replaced and `extra` lines appended.
func minimal(replacing replacements: [Int: String] = [:], appending extra: [String] = []) -> String {
    var lines = minimalLines
    for (number, text) in replacements { lines[number - 1] = text }
    return (lines + extra).joined(separator: "\n")
}

/// All errors of a manifest that must fail.
func errors(_ yaml: String, environment: [String: String] = testEnvironment) -> [ManifestError] {
    switch ManifestParser.check(yaml, environment: environment) {
    case .success:
        Issue.record("manifest unexpectedly parsed")
        return []
    case .failure(let errors):
        return errors.errors
    }
}

/// The text of a file in `examples/`, located from this source file.
func example(_ name: String) throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return try String(contentsOf: root.appendingPathComponent("examples/\(name)"), encoding: .utf8)
}

/// A table row of the manifest error tests: a manifest with one mistake and the exact errors it gives.
struct ManifestErrorCase: CustomTestStringConvertible, Sendable {
    let name: String
    let yaml: String
    let expected: [String]
    var testDescription: String { name }
}
