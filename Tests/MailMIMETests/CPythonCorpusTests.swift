import Foundation
import Testing
@testable import MailMIME

/// CPython's email test messages, installed by Debian's `libpython3.11-testsuite` package. The test
/// environment installs it; a missing directory is a failure, not a skip.
enum CPythonCorpus {
    static let directory = URL(fileURLWithPath: "/usr/lib/python3.11/test/test_email/data")

    static func messageFiles() throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            Issue.record("CPython's email test data is missing at \(directory.path): install the Debian package libpython3.11-testsuite")
            return []
        }
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasPrefix("msg_") && $0.pathExtension == "txt" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func load(_ name: String) throws -> ParsedMessage {
        try parsed(try Fixtures.bytes(at: directory.appendingPathComponent(name)))
    }
}

@Test func everyCPythonMessageParsesOrExplains() throws {
    let files = try CPythonCorpus.messageFiles()
    #expect(files.count >= 40, "expected CPython's msg_*.txt files, found \(files.count)")
    var parsedCount = 0
    for file in files {
        let message = CorpusMessage(name: file.lastPathComponent, bytes: try Fixtures.bytes(at: file))
        if Corpus.parseOrExplain(message) != nil { parsedCount += 1 }
    }
    #expect(parsedCount == files.count, "every CPython test message is a message")
}

@Test func cpythonMessagesKnownFacts() throws {
    guard !(try CPythonCorpus.messageFiles()).isEmpty else { return }

    let plain = try CPythonCorpus.load("msg_01.txt")
    #expect(plain.subject == "This is a test message")
    #expect(plain.headers(named: "Received").count >= 1)
    #expect(plain.textBody != nil)

    let simple = try CPythonCorpus.load("msg_04.txt")
    #expect(simple.subject == "a simple multipart")
    #expect(simple.messageID == "15261.36209.358846.118674@anthem.python.org")
    #expect(simple.from.map(\.address) == ["barry@python.org"])
    #expect(simple.date == Date(timeIntervalSince1970: 1_000_181_105))  // Tue, 11 Sep 2001 00:05:05 -0400

    let dingus = try CPythonCorpus.load("msg_07.txt")
    #expect(dingus.textBody?.hasPrefix("Hi there,") == true)
    #expect(dingus.to == [MailAddress(name: "Dingus Lovers", address: "cravindogs@cravindogs.com")])
    let gif = try #require(dingus.attachments.first { $0.filename == "dingusfish.gif" })
    #expect(gif.contentType == "image/gif")
    #expect(gif.data.starts(with: Array("GIF87a".utf8)))
    #expect(!gif.isInline)

    // A body without any header block is kept as text.
    let headerless = try CPythonCorpus.load("msg_19.txt")
    #expect(headerless.headers.isEmpty)
    #expect(headerless.textBody?.hasPrefix("Send Ppp mailing list submissions to") == true)
    #expect(headerless.problems.contains { $0.contains("no header block") })

    let forwarded = try CPythonCorpus.load("msg_06.txt")
    #expect(forwarded.attachments.contains { $0.contentType == "message/rfc822" && $0.filename?.hasSuffix(".eml") == true })
}
