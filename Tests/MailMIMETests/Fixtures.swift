import Foundation
import Testing
@testable import MailMIME

/// Locates test data next to this file and builds raw messages for tests.
enum Fixtures {
    /// `Tests/MailMIMETests/Fixtures`, found from this source file's location.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        try bytes(at: root.appendingPathComponent(relativePath))
    }

    static func bytes(at url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }

    /// Every regular file below `directory`, sorted by path.
    static func files(below directory: URL) -> [URL] {
        let enumerator = FileManager.default.enumerator(
            at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        var result: [URL] = []
        while let url = enumerator?.nextObject() as? URL {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { result.append(url) }
        }
        return result.sorted { $0.path < $1.path }
    }

    /// Splits an mbox into messages at lines starting with `From ` (the first line or after an LF),
    /// dropping those separator lines.
    static func splitMbox(_ bytes: [UInt8]) -> [[UInt8]] {
        let marker = Array("From ".utf8)
        var starts: [Int] = []
        var index = 0
        while index < bytes.count {
            if (index == 0 || bytes[index - 1] == UInt8(ascii: "\n")), bytes[index...].starts(with: marker) {
                starts.append(index)
            }
            index += 1
        }
        guard !starts.isEmpty else { return [bytes] }
        return starts.enumerated().map { offset, start in
            let end = offset + 1 < starts.count ? starts[offset + 1] : bytes.count
            let lineEnd = bytes[start..<end].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? end
            return Array(bytes[lineEnd..<end])
        }.filter { !$0.isEmpty }
    }
}

/// A message from text written with LF line ends, sent with CRLF as on the wire.
func wire(_ text: String) -> [UInt8] {
    Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
}

/// Bytes built from pieces that may include raw 8-bit bytes.
func wire(_ pieces: [WirePiece]) -> [UInt8] {
    pieces.flatMap { piece -> [UInt8] in
        switch piece {
        case .text(let text): wire(text)
        case .bytes(let bytes): bytes
        }
    }
}

enum WirePiece {
    case text(String)
    case bytes([UInt8])
}

/// Parses a message the test expects to be parseable, failing the test with the error otherwise.
func parsed(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> ParsedMessage {
    do {
        return try MIMEParser.parse(bytes)
    } catch {
        Issue.record("expected a message, got \(error)", sourceLocation: sourceLocation)
        throw error
    }
}

/// Base64 of `bytes` in 76-character lines (RFC 2045 §6.8).
func base64Lines(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
}
