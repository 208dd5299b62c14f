/// What a key derived from the master key is for: the HKDF purpose label (`SecretKey.derive(purpose:tenant:)`).
///
/// Each use of key material has its own label, so a key recovered from one use (a leaked signing key, say) opens
/// nothing else, and no ciphertext or MAC made for one use is accepted by another. Labels are part of the stored
/// data's meaning: never rename one that is in use.
public struct KeyPurpose: Sendable, Hashable, CustomStringConvertible {
    public let label: String

    public init(_ label: String) { self.label = label }

    /// Sealing stored account credentials (`mail_account.imap_secret`, `smtp_secret`) in a `SecretBox`.
    public static let credentials = KeyPurpose("credentials")
    /// Sealing OAuth access and refresh tokens in a `SecretBox` (reserved for OAuth accounts).
    public static let oauthToken = KeyPurpose("oauth-token")
    /// HMAC of the record tokens in Message-IDs (`RecordTokenSigner`), derived per tenant.
    public static let messageID = KeyPurpose("message-id")

    public var description: String { label }
}
