import MailCore

/// The `Mailroom-Signature` header of a webhook POST (docs/webhooks.md): `t=<unix seconds>,v1=<hex>`,
/// where the hex is the HMAC-SHA256 of `"<t>.<body>"` under the endpoint's secret (its UTF-8 bytes).
/// Signing the time with the body lets a receiver refuse an old request replayed.
public enum WebhookSignature {
    public static let headerName = "Mailroom-Signature"

    /// The header's value for `body` sent at `timestamp`.
    public static func header(secret: Secret, timestamp: Int64, body: [UInt8]) -> String {
        "t=\(timestamp),v1=\(Hex.encode(mac(secret: secret, timestamp: timestamp, body: body)))"
    }

    /// Whether `header` is a valid signature of `body` under `secret` (constant-time comparison), for
    /// tests and for receivers written in Swift.
    public static func verify(_ header: String, secret: Secret, body: [UInt8]) -> Bool {
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1", let bytes = Hex.decode(pair[1]) { signatures.append(bytes) }
        }
        guard let timestamp else { return false }
        let expected = mac(secret: secret, timestamp: timestamp, body: body)
        return signatures.contains { ConstantTime.equals($0, expected) }
    }

    private static func mac(secret: Secret, timestamp: Int64, body: [UInt8]) -> [UInt8] {
        HMAC.sha256(keyBytes: Array(secret.value.utf8), Array("\(timestamp).".utf8) + body)
    }
}
