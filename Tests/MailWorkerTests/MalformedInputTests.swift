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

    /// Encoded words that decode to line breaks (a header injection once composed again) are stored
    /// unfolded: the database refuses line breaks in header-bound columns, and the message is not lost.
    @Test func lineBreaksInsideHeaderValuesAreUnfoldedNotRefused() async throws {
        let message = TestMessages.crlf("""
            Message-ID: <crlf-\(UUID().uuidString)@x.test>
            From: =?UTF-8?Q?Eve=0D=0ABcc:_victim@x.test?= <eve@x.test>
            To: support@acme.test
            Subject: =?UTF-8?Q?Hello=0D=0ABcc:_victim@x.test?=
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain

            hi
            --b
            Content-Type: text/plain; name*=UTF-8''a%0D%0AX-Evil:%20yes.txt
            Content-Disposition: attachment; filename*=UTF-8''a%0D%0AX-Evil:%20yes.txt

            data
            --b--

            """)
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "crlf")
        try f.server.deliverToMaildir(box, messages: [message])
        let (tenant, _) = try await f.tenant("crlf", accounts: [.init(name: "Support", mailbox: box)])
        let reports = try await f.importAll(tenant, runner: f.runner(maxAttempts: 1))
        #expect(reports.reduce(0) { $0 + $1.imported } == 1)
        let (subject, name, file) = try await f.query(tenant) { conn in
            let row = try conn.query("""
                SELECT e.subject, e.from_name, a.filename FROM email e LEFT JOIN attachment a ON a.tenant_id = e.tenant_id AND a.email_id = e.id
                """).one()
            return (try row.decode(String.self, at: 0), try row.decode(String?.self, at: 1), try row.decode(String?.self, at: 2))
        }
        // Whatever GMime decoded, the stored values are single lines and the message is stored.
        for value in [subject, name ?? "", file ?? ""] {
            #expect(!value.contains { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }, "\(value)")
        }
        #expect(subject.hasSuffix("Bcc: victim@x.test"))
        #expect(file == "a X-Evil: yes.txt")
    }
}
