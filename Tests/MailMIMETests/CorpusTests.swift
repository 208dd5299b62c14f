import Foundation
import Testing
@testable import MailMIME

/// One message of a corpus: its file (and index inside an mbox) and its bytes.
struct CorpusMessage: Sendable, CustomStringConvertible {
    let name: String
    let bytes: [UInt8]
    var description: String { name }
}

enum Corpus {
    static let directory = Fixtures.root.appendingPathComponent("corpora")
    static let notMessages: Set<String> = ["README.md", "LICENSE", "COPYING", "manifest.tsv"]

    /// Every message under `Fixtures/corpora`, mbox files split into their messages.
    static func messages() throws -> [CorpusMessage] {
        try Fixtures.files(below: directory)
            .filter { !notMessages.contains($0.lastPathComponent) }
            .flatMap { url -> [CorpusMessage] in
                let name = String(url.path.dropFirst(directory.path.count + 1))
                let bytes = try Fixtures.bytes(at: url)
                guard url.lastPathComponent.contains(".mbox") else { return [CorpusMessage(name: name, bytes: bytes)] }
                return Fixtures.splitMbox(bytes).enumerated().map { CorpusMessage(name: "\(name)#\($0 + 1)", bytes: $1) }
            }
    }

    /// Parses `message`; a MIMEError must say why. Returns nil for a MIMEError.
    static func parseOrExplain(_ message: CorpusMessage) -> ParsedMessage? {
        do {
            let parsed = try MIMEParser.parse(message.bytes)
            #expect(parsed.size == message.bytes.count, "\(message)")
            #expect(!parsed.headers.isEmpty || parsed.textBody != nil || !parsed.attachments.isEmpty, "\(message)")
            return parsed
        } catch {
            #expect(!error.reason.isEmpty, "\(message): \(error)")
            return nil
        }
    }
}

@Test func everyCorpusMessageParsesOrExplains() throws {
    let messages = try Corpus.messages()
    #expect(messages.count >= 50, "expected the MimeKit selection, found \(messages.count) messages")
    var parsedCount = 0
    for message in messages {
        if let parsed = Corpus.parseOrExplain(message) {
            parsedCount += 1
            // Nothing a parse returns may hold NUL (PostgreSQL text cannot).
            let strings = [parsed.subject, parsed.textBody, parsed.htmlBody].compactMap { $0 }
                + parsed.headers.flatMap { [$0.name, $0.value] } + parsed.attachments.compactMap(\.filename)
            #expect(!strings.contains { $0.contains("\u{0}") }, "\(message)")
        }
    }
    // Every message of this corpus is a real message: all of them must parse.
    #expect(parsedCount == messages.count)
}

@Test func corpusFactsMatchMimeKitsExpectations() throws {
    func load(_ name: String) throws -> ParsedMessage {
        try parsed(try Fixtures.bytes("corpora/mimekit/\(name)"))
    }
    let japanese = try load("messages/japanese.txt")
    #expect(japanese.subject?.unicodeScalars.contains { (0x3040...0x30FF).contains($0.value) || (0x4E00...0x9FFF).contains($0.value) } == true,
            "ISO-2022-JP subject decoded to Japanese: \(japanese.subject ?? "nil")")
    #expect(japanese.textBody?.unicodeScalars.contains { (0x3040...0x9FFF).contains($0.value) } == true)

    let startrek = try load("misc/startrek.eml")
    let types = Set(startrek.attachments.map(\.contentType))
    #expect(types.isSuperset(of: ["audio/basic", "image/gif"]), "\(types)")

    let signed = try load("misc/thunderbird-signed.txt")
    #expect(signed.textBody != nil)
    #expect(signed.attachments.contains { $0.contentType == "image/jpeg" && !$0.data.isEmpty })
    #expect(signed.attachments.contains { $0.contentType == "application/pkcs7-signature" })

    let related = try load("dkim/related.msg")
    #expect(related.htmlBody != nil && related.textBody != nil)
    #expect(related.attachments.contains { $0.contentType == "image/jpeg" && $0.isInline && $0.contentID != nil })

    let embedded = try load("messages/simple-embedded-message.eml")
    #expect(embedded.attachments.contains { $0.contentType == "message/rfc822" && $0.filename?.hasSuffix(".eml") == true })

    let noEndBoundary = try load("dkim/multipart-no-end-boundary.msg")
    #expect(noEndBoundary.textBody != nil && noEndBoundary.htmlBody != nil)

    let deep = try load("messages/stack-overflow.txt")
    #expect(deep.size > 100_000)
}

/// GMime must be usable from many threads at once: parse the corpus concurrently and compare
/// with a sequential run.
@Test func concurrentParsingMatchesSequential() async throws {
    let messages = try Corpus.messages()
    struct Summary: Equatable, Sendable {
        let subject: String?, text: String?, html: String?, attachments: [ParsedAttachment], problems: [String]
    }
    func summary(_ message: CorpusMessage) -> Summary? {
        guard let p = try? MIMEParser.parse(message.bytes) else { return nil }
        return Summary(subject: p.subject, text: p.textBody, html: p.htmlBody, attachments: p.attachments, problems: p.problems)
    }
    let sequential = messages.map(summary)
    let concurrent = await withTaskGroup(of: (Int, Summary?).self) { group in
        for _ in 0..<4 {
            for (index, message) in messages.enumerated() {
                group.addTask { (index, summary(message)) }
            }
        }
        var results: [Int: [Summary?]] = [:]
        for await (index, result) in group { results[index, default: []].append(result) }
        return results
    }
    for (index, expected) in sequential.enumerated() {
        for result in concurrent[index] ?? [] {
            #expect(result == expected, "\(messages[index])")
        }
        #expect(concurrent[index]?.count == 4)
    }
}
