import MailCrypto

extension Manifest {
    /// A key of the events pull API (`api_keys[]`, docs/api.md). The operator makes the key; Mailroom
    /// stores only the hash of its secret. A manifest key that the manifest stops listing is revoked
    /// by the next `mailroom apply`.
    public struct APIKeyEntry: Sendable, Equatable {
        /// Unique within the manifest; letters, digits, `.`, `_` and `-`, at most 63.
        public var name: String
        /// Read from the environment (`key: env:VARIABLE`), never from the file itself.
        public var key: APIKey

        public init(name: String, key: APIKey) {
            self.name = name
            self.key = key
        }
    }
}
