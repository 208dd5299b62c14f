import Foundation
import MailCore
import MailDomain
import Yams

/// Webhook endpoints (`webhooks:`).
extension ManifestReader {
    static let webhookKeys = ["name", "url", "events", "secret", "retry_window", "batch"]

    func readWebhooks(_ root: MappingReader) -> [Manifest.Webhook] {
        var names = NameRegistry(kind: "webhook")
        var result: [Manifest.Webhook] = []
        for (path, node) in root.sequence("webhooks") {
            guard let map = MappingReader(node, path: path, keys: Self.webhookKeys, diagnostics: diagnostics) else { continue }
            let name = map.requiredString("name")
            if let name {
                if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
                    || !(name.first!.isLetter || name.first!.isNumber) {
                    map.report("name", "invalid name \(quoted(name)) (letters, digits, '.', '_' and '-', starting with a letter or digit)")
                }
                _ = names.register(name, path: map.child("name"), node: map.value("name"), diagnostics: diagnostics)
            }
            let url = webhookURL(map)
            let events = map.strings("events", kind: "event type")
            for type in events where !EventType.all.contains(type) {
                map.report("events", "unknown event type \(quoted(type)) (one of \(EventType.all.sorted().joined(separator: ", ")))")
            }
            let secret = map.secret("secret", environment: environment)
            if !map.has("secret") { map.reportMissing("secret", "required (env:NAME): receivers verify the signature with it") }
            let window = map.duration("retry_window", default: Manifest.Webhook.defaultRetryWindow, minimum: .seconds(1),
                                      maximum: .seconds(30 * 86400))
            let batch = map.int("batch", default: 1, in: Manifest.Webhook.batchSizes)
            guard let name, let url, let secret, let batch else { continue }
            result.append(Manifest.Webhook(name: name, url: url, events: events, secret: secret, retryWindow: window, batchSize: batch))
        }
        return result
    }

    /// An absolute `https://` URL to a host the outbound policy allows. Plain `http://` only when the
    /// operator lists the host in `MAILROOM_INSECURE_HOSTS`; an address literal outside the global
    /// unicast space only when listed in `MAILROOM_ALLOWED_HOSTS`. Host names are resolved and judged
    /// by `mailroom apply` (`WebhookTarget.check`) and again at every connection.
    private func webhookURL(_ map: MappingReader) -> String? {
        guard let (text, https, bareHost) = map.httpURL("url", required: true) else { return nil }
        let policy: OutboundPolicy
        switch Result(catching: { () throws(SettingError) in try OutboundPolicy.fromEnvironment(environment) }) {
        case .failure(let error):
            map.report("url", "needs a valid operator setting: \(error)")
            return nil
        case .success(let p): policy = p
        }
        if !https, policy.insecureRefusal(host: bareHost, address: nil, use: .plainHTTP) != nil {
            map.report("url", "must use https:// (\(quoted(bareHost)) is not in \(OutboundPolicy.insecureHostsVariable))")
            return nil
        }
        if let refusal = policy.refusal(host: bareHost) {
            map.report("url", "\(refusal)")
            return nil
        }
        return text
    }
}
