import Yams

/// CRM records: accounts, contacts, leads, opportunities.
extension ManifestReader {
    func readRecords(_ root: MappingReader) -> Manifest.Records {
        var records = Manifest.Records()
        guard let map = root.mapping("records", keys: ["accounts", "contacts", "leads", "opportunities"]) else {
            return records
        }
        for (path, node) in map.sequence("accounts") {
            guard let item = MappingReader(node, path: path, keys: ["name", "emails"], diagnostics: diagnostics),
                  let name = item.requiredString("name")
            else { continue }
            let emails = item.emails("emails").map(\.address)
            guard accounts.register(name, path: item.child("name"), node: item.value("name"), diagnostics: diagnostics)
            else { continue }
            records.accounts.append(Manifest.Account(name: name, emails: emails))
        }
        for (path, node) in map.sequence("contacts") {
            guard let item = MappingReader(
                node, path: path, keys: ["name", "emails", "account"], diagnostics: diagnostics),
                let name = item.requiredString("name")
            else { continue }
            let emails = item.emails("emails").map(\.address)
            let account = knownAccount(item, "account")
            guard contacts.register(name, path: item.child("name"), node: item.value("name"), diagnostics: diagnostics)
            else { continue }
            records.contacts.append(Manifest.Contact(name: name, emails: emails, account: account))
        }
        var leads = NameRegistry(kind: "lead")
        for (path, node) in map.sequence("leads") {
            guard let item = MappingReader(node, path: path, keys: ["name", "emails"], diagnostics: diagnostics),
                  let name = item.requiredString("name")
            else { continue }
            let emails = item.emails("emails").map(\.address)
            guard leads.register(name, path: item.child("name"), node: item.value("name"), diagnostics: diagnostics)
            else { continue }
            records.leads.append(Manifest.Lead(name: name, emails: emails))
        }
        var opportunities = NameRegistry(kind: "opportunity")
        for (path, node) in map.sequence("opportunities") {
            guard let item = MappingReader(
                node, path: path, keys: ["name", "account", "contacts"], diagnostics: diagnostics),
                let name = item.requiredString("name")
            else { continue }
            if !item.has("account") { item.reportMissing("account") }
            let account = knownAccount(item, "account")
            var linked = NameRegistry(kind: "contact")
            for (contactPath, contactNode) in item.sequence("contacts") {
                guard let contact = MappingReader.string(contactNode, path: contactPath, diagnostics: diagnostics)
                else { continue }
                guard contacts.contains(contact) else {
                    diagnostics.report(item.child("contacts"), contactNode, "unknown contact \(quoted(contact))")
                    continue
                }
                _ = linked.register(contact, path: contactPath, node: contactNode, diagnostics: diagnostics)
            }
            guard let account,
                  opportunities.register(name, path: item.child("name"), node: item.value("name"),
                                         diagnostics: diagnostics)
            else { continue }
            records.opportunities.append(Manifest.Opportunity(name: name, account: account, contacts: linked.names))
        }
        return records
    }

    /// An account name that must refer to an account defined under `records.accounts`.
    private func knownAccount(_ item: MappingReader, _ key: String) -> String? {
        guard let account = item.string(key) else { return nil }
        guard accounts.contains(account) else {
            item.report(key, "unknown account \(quoted(account))")
            return nil
        }
        return account
    }
}
