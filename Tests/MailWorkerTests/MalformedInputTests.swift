import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// CPython's email test corpus and hand-made broken messages through the whole import path.
@Suite struct MalformedInputTests {
    static let cpythonCorpus = "/usr/lib/python3.11/test/test_email/data"

    @Test func everyMessageIsStoredOrRecordedWithAReason() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.cpythonCorpus)
            .filter { $0.hasPrefix("msg_") && $0.hasSuffix(".txt") }.sorted()
        try #require(files.count > 40, "CPython's email test messages (Debian libpython3.11-testsuite) are missing")
        var messages: [[UInt8]] = []
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.cpythonCorpus + "/" + file))
            // The corpus uses LF line ends; an IMAP server hands out CRLF.
            messages.append(TestMessages.crlf(String(decoding: data, as: UTF8.self)))
        }
        messages += BrokenMessages.all.map(\.bytes)

        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "malformed")
        try f.server.deliverToMaildir(box, messages: messages)
        let (tenant, _) = try await f.tenant("malformed", accounts: [.init(name: "Support", mailbox: box)])
        let reports = try await f.importAll(tenant, runner: f.runner(maxAttempts: 1))

        // Every delivered message is accounted for: stored, linked to an email with the same id, or failed.
        let accounted = reports.reduce(0) { $0 + $1.imported + $1.linkedExisting + $1.failed }
        #expect(accounted == messages.count)
        #expect(reports.allSatisfy { $0.error == nil })
        let failures = try await f.query(tenant) { conn in
            try conn.query("SELECT uid, stage, reason, state FROM import_failure").map {
                (try $0.decode(Int.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(String.self, at: 2), try $0.decode(String.self, at: 3))
            }
        }
        #expect(failures.allSatisfy { !$0.2.isEmpty && $0.3 == "failed" })
        // The folder was never blocked: its cursor covers every message.
        #expect(try await f.count(tenant, "SELECT last_uid FROM mail_folder") == messages.count)
        // Tolerated damage is noted on the stored email.
        #expect(try await f.count(tenant, "SELECT count(*) FROM email WHERE import_note IS NOT NULL") > 0)
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") > files.count / 2)
    }
}
