import Foundation
import MailIO

/// The master key kept in a file beside a zero-configuration installation's data: `<directory>/secret.key`,
/// base64 of 32 random bytes, mode 0600, made on first use.
///
/// Used only when neither `MAILROOM_SECRET_KEY` nor a database URL is configured (the embedded cluster);
/// an operator running against their own database must set the key, so a lost or new home directory can
/// never silently seal secrets under a key nobody keeps.
public struct SecretKeyFile: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var path: String { "\(directory)/secret.key" }

    /// The key in the file, creating the directory and the file on first use.
    public func loadOrCreate() throws -> SecretKey {
        try OnceFile.makeDirectory(directory, mode: 0o755)
        let text = try OnceFile(path: path).readOrCreate { Data(SecretKey.random().bytes).base64EncodedString() }
        return try SecretKey(base64OrHex: text)
    }
}
