import MailCore

/// Signs and verifies the record token that Mailroom puts in the Message-IDs of mail it sends, so a
/// reply (which names our Message-ID in In-Reply-To or References) threads back to its record
/// without a lookup, and a token someone made up is ignored.
///
/// Format of the Message-ID (without angle brackets):
///
///     mr1.<type>.<id>.<nonce>.<mac>@<domain>
///
/// `type` is the record type's raw value, `id` its decimal id, `nonce` 16 random hex digits (every
/// Message-ID is unique), `mac` the first 16 bytes of HMAC-SHA256 over `mr1.<type>.<id>.<nonce>` as
/// 32 hex digits, under a key derived per tenant from the master key (HKDF, purpose `message-id`):
/// a token minted for one tenant does not verify for another. The domain is not signed: relays may
/// not rewrite it, and it carries no meaning for threading.
///
/// Tokens are signed with the current master key's derivation and verified against the current and
/// every previous key of the keyring, so replies to mail sent before a key rotation still thread.
public struct RecordTokenSigner: Sendable {
    static let prefix = "mr1"
    static let macBytes = 16
    /// The signing key first, then the keys that only verify.
    private let keys: [SecretKey]
    private var key: SecretKey { keys[0] }

    /// A signer with the tenant's key, derived from the master key (`MAILROOM_SECRET_KEY`).
    public init(master: SecretKey, tenant: TenantID) {
        keys = [master.derive(purpose: KeyPurpose.messageID.label, tenant: tenant.rawValue)]
    }

    /// A signer with the tenant's keys derived from each master key of `keyring`: signs with the
    /// current one, verifies with all.
    public init(keyring: SecretKeyring, tenant: TenantID) {
        keys = keyring.all.map { $0.derive(purpose: KeyPurpose.messageID.label, tenant: tenant.rawValue) }
    }

    /// A fresh Message-ID (without angle brackets) carrying a signed reference to the record.
    public func messageID(type: RecordType, id: Int64, domain: String) -> String {
        let body = "\(Self.prefix).\(type.rawValue).\(id).\(Hex.encode(SecureRandom.bytes(8)))"
        return "\(body).\(mac(body))@\(domain)"
    }

    /// The record a Message-ID names, or nil when it is not ours, malformed, forged or minted for
    /// another tenant. Accepts the id with or without angle brackets; hex case is ignored.
    public func verify(_ messageID: String) -> (type: RecordType, id: Int64)? {
        var text = Substring(messageID.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("<"), text.hasSuffix(">") { text = text.dropFirst().dropLast() }
        guard let at = text.lastIndex(of: "@") else { return nil }
        let parts = text[..<at].lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == Self.prefix, let type = RecordType(rawValue: String(parts[1])),
              let id = Int64(parts[2]), id > 0, String(id) == parts[2], parts[3].count == 16,
              let given = Hex.decode(String(parts[4])), given.count == Self.macBytes
        else { return nil }
        let body = Array(parts[0..<4].joined(separator: ".").utf8)
        guard keys.contains(where: { ConstantTime.equals(Array(HMAC.sha256(key: $0, body).prefix(Self.macBytes)), given) })
        else { return nil }
        return (type, id)
    }

    private func mac(_ body: String) -> String {
        Hex.encode(Array(HMAC.sha256(key: key, Array(body.utf8)).prefix(Self.macBytes)))
    }
}
