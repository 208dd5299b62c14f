import Foundation
import MailCore

/// A key of the HTTP pull API as listings show it: never its secret nor its hash (docs/api.md).
public struct APIKeyRecord: Sendable, Equatable {
    /// Who made a key: `mailroom apply` revokes only the manifest's own keys (`api_key.managed_by`).
    public enum ManagedBy: String, Sendable, Equatable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case manifest
        case cli
        public var postgresBind: PostgresBind { .text(rawValue) }
    }

    public var name: String
    /// The public half of the key (`mrk_<key id>_…`).
    public var keyID: String
    public var managedBy: ManagedBy
    public var createdAt: Date
    public var revokedAt: Date?
    /// Moved at most once a minute.
    public var lastUsedAt: Date?
}
