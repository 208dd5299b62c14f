import MailCrypto

/// Keys of the events pull API (`api_keys:`).
extension ManifestReader {
    func readAPIKeys(_ root: MappingReader) -> [Manifest.APIKeyEntry] {
        var names = NameRegistry(kind: "API key")
        var result: [Manifest.APIKeyEntry] = []
        for (path, node) in root.sequence("api_keys") {
            guard let map = MappingReader(node, path: path, keys: ["name", "key"], diagnostics: diagnostics) else { continue }
            let name = map.requiredString("name")
            if let name {
                if !APIKey.isValidName(name) {
                    map.report("name", "invalid API key name \(quoted(name)) (letters, digits, \".\", \"_\" and \"-\", at most 63)")
                } else {
                    _ = names.register(name, path: map.child("name"), node: map.value("name"), diagnostics: diagnostics)
                }
            }
            guard map.has("key") else {
                map.reportMissing("key")
                continue
            }
            // A key written into the file would end up wherever the file goes (a repository, a ticket).
            guard map.value("key")?.scalar?.string.hasPrefix("env:") == true else {
                map.report("key", "must be env:VARIABLE (the key itself never goes in the manifest)")
                continue
            }
            guard let secret = map.secret("key", environment: environment) else { continue }
            guard let key = try? APIKey.parse(secret.value) else {
                map.report("key", "malformed API key (it must read mrk_<16 hex digits>_<64 hex digits>, lowercase; see docs/api.md)")
                continue
            }
            if let name { result.append(Manifest.APIKeyEntry(name: name, key: key)) }
        }
        return result
    }
}
