import Foundation
import MailCrypto
import Testing

@Suite struct SecretKeyFileTests {
    @Test func theKeyIsMadeOnceKeptPrivateAndReadBack() throws {
        let directory = NSTemporaryDirectory() + "mailroom-key-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = SecretKeyFile(directory: directory)

        let key = try file.loadOrCreate()
        #expect(try file.loadOrCreate() == key)
        #expect(try SecretKeyFile(directory: directory + "/").loadOrCreate() == key)
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        #expect(Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines))?.count == 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect("\(key)" == "<redacted>")
    }

    @Test func aKeyFileWrittenByHandIsReadAndABrokenOneIsAnError() throws {
        let directory = NSTemporaryDirectory() + "mailroom-key-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = SecretKeyFile(directory: directory)
        let hex = String(repeating: "ab", count: 32)
        try "\(hex)\n".write(toFile: file.path, atomically: true, encoding: .utf8)
        #expect(try file.loadOrCreate() == SecretKey(base64OrHex: hex))

        try "not a key\n".write(toFile: file.path, atomically: true, encoding: .utf8)
        #expect(throws: CryptoError.self) { try file.loadOrCreate() }
    }
}
