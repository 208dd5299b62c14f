import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// The `mailroom` executable as operators use it.
@Suite struct CommandLineTests {
    typealias Run = MailroomBinary.Run

    func mailroom(_ args: [String], env: [String: String] = [:]) async throws -> Run {
        try await MailroomBinary.run(args, env: env)
    }

    @Test func helpIsEverywhere() async throws {
        for sub in [[], ["migrate"], ["apply"], ["worker"], ["export"], ["status"]] {
            let r = try await mailroom(sub + ["--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("USAGE"))
        }
    }

    /// Operator settings are strict: an unknown or malformed value stops the command with the
    /// variable's name, before it touches the database or the network.
    @Test func malformedSettingsAreErrors() async throws {
        let level = try await mailroom(["status", "--database-url", "postgresql://127.0.0.1:1/none"], env: ["MAILROOM_LOG_LEVEL": "chatty"])
        #expect(level.status != 0)
        #expect(level.stderr.contains("MAILROOM_LOG_LEVEL: unknown log level \"chatty\""), "\(level.stderr)")
        let option = try await mailroom(["migrate", "--log-level", "loud", "--database-url", "postgresql://127.0.0.1:1/none"])
        #expect(option.status != 0)
        #expect(option.stderr.contains("--log-level: unknown log level \"loud\""), "\(option.stderr)")
        for (name, value, problem) in [
            ("MAILROOM_ALLOWED_HOSTS", "10.0.0.0/8,not a host", "\"not a host\" is neither a CIDR block, an IP address nor a host name"),
            ("MAILROOM_INSECURE_HOSTS", "127.0.0.1/8", "has host bits set"),
            ("MAILROOM_MAX_MESSAGE_SIZE", "50MB", "is not a positive number of bytes"),
            ("MAILROOM_FETCH_BUDGET", "0", "is not a positive number of bytes"),
        ] {
            let r = try await mailroom(["worker", "--until-idle", "--database-url", "postgresql://127.0.0.1:1/none"], env: [name: value])
            #expect(r.status != 0)
            #expect(r.stderr.contains("\(name): \"") && r.stderr.contains(problem), "\(r.stderr)")
        }
        // The trace exporter: two values, and only the OTLP/HTTP protocols this build has.
        for (env, message) in [
            (["MAILROOM_OTEL_TRACES": "zipkin"], "MAILROOM_OTEL_TRACES: unknown value \"zipkin\" (use off or otlp-http)"),
            (["MAILROOM_OTEL_TRACES": "otlp-http", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"],
             "OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol \"grpc\""),
        ] {
            let r = try await mailroom(["worker", "--until-idle", "--database-url", "postgresql://127.0.0.1:1/none"], env: env)
            #expect(r.status != 0)
            #expect(r.stderr.contains(message), "\(r.stderr)")
        }
        for connections in ["0", "21"] {
            let r = try await mailroom(["worker", "--smtp-connections-per-account", connections, "--database-url", "postgresql://127.0.0.1:1/none"])
            #expect(r.status != 0)
            #expect(r.stderr.contains("--smtp-connections-per-account must be between 1 and 20, not \(connections)"), "\(r.stderr)")
        }
    }

    @Test func twoMigratesAtOnceApplyOnceAndAgainChangesNothing() async throws {
        let (url, name) = try await TestDatabase.createDatabase()
        defer { Task { try? await TestDatabase.dropDatabase(name) } }
        let runs = try await withThrowingTaskGroup(of: Run.self) { group in
            for _ in 0..<2 { group.addTask { try await self.mailroom(["migrate", "--database-url", url]) } }
            return try await group.reduce(into: [Run]()) { $0.append($1) }
        }
        #expect(runs.allSatisfy { $0.status == 0 })
        #expect(runs.filter { $0.stdout.contains("applied: 0001_foundation") }.count == 1)
        #expect(runs.filter { $0.stdout.contains("schema is up to date") }.count == 1)
        let again = try await mailroom(["migrate", "--database-url", url])
        #expect(again.stdout.contains("schema is up to date"))
    }

    @Test func applyNamesTheKeyAndLineOfAnError() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml")
        try """
            tenant: \(TestDatabase.uniqueSlug("badyaml"))
            teams: [{name: support}]
            users:
              - {username: a, name: A, emails: [a@x.test]}
              - {username: b, name: B, emails: [b@x.test]}
              - {username: c, name: C, emails: [c@x.test], teams: {suport: null}}
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try await mailroom(["apply", file.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("users[2].teams"))
        #expect(r.stderr.contains("\"suport\""))
        #expect(r.stderr.contains("line 6"))
    }

    @Test func applyTwiceThenExportShowsImportedMailWithoutSecrets() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "cli")
        try f.server.deliverToMaildir(box, messages: [
            TestMessages.plain(id: "cli-1@x.test", subject: "Über CLI", cc: "Bob <bob@acme.test>"),
        ])
        let slug = TestDatabase.uniqueSlug("cli")
        let file = try supportManifest(slug: slug, box: box, server: f.server)
        defer { try? FileManager.default.removeItem(at: file) }
        let env = ["CLI_PW": box.password]
        let first = try await mailroom(["apply", file.path], env: env)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("applied"))
        let second = try await mailroom(["apply", file.path], env: env)
        #expect(second.stdout.contains("unchanged"))

        let work = try await mailroom(["worker", "--until-idle", "--tenant", slug])
        #expect(work.status == 0, "\(work.stderr)")
        #expect(work.stdout.contains("Support"))

        let export = try await mailroom(["export", "--tenant", slug])
        #expect(export.status == 0)
        #expect(!export.stdout.contains(box.password))
        let json = try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any]
        let emails = json?["emails"] as? [[String: Any]]
        #expect(emails?.count == 1)
        let email = emails?.first
        #expect(email?["message_id"] as? String == "cli-1@x.test")
        #expect(email?["subject"] as? String == "Über CLI")
        #expect((email?["cc"] as? [[String: Any]])?.first?["address"] as? String == "bob@acme.test")
        #expect((email?["accounts"] as? [[String: Any]])?.first?["name"] as? String == "Support")
        #expect((email?["users"] as? [[String: Any]])?.first?["username"] as? String == "bob")
    }
}

extension CommandLineTests {
    /// A tenant with one group account `Support` on `box`, its IMAP password read from `CLI_PW`.
    func supportManifest(slug: String, box: TestMailbox, server: TestMailServer) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(slug).yaml")
        try """
            tenant: \(slug)
            teams: [{name: support, positions: [agent]}]
            users:
              - {username: bob, name: Bob Baker, emails: [bob@acme.test], teams: {support: agent}}
            group_accounts:
              - name: Support
                address: \(box.address)
                imap: {host: \(server.host), port: \(server.imapPort), security: starttls, verify_tls: false,
                       password: env:CLI_PW}
                teams: [support]
            """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// A poll that fails (here: a wrong password) makes `worker --until-idle` exit non-zero and
    /// name the folder, so a script or scheduler cannot mistake it for success.
    @Test func untilIdleExitsNonZeroAndNamesTheFailingFolder() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "cli-fail")
        let slug = TestDatabase.uniqueSlug("clifail")
        let file = try supportManifest(slug: slug, box: box, server: f.server)
        defer { try? FileManager.default.removeItem(at: file) }
        let applied = try await mailroom(["apply", file.path], env: ["CLI_PW": "not-\(box.password)"])
        #expect(applied.status == 0, "\(applied.stderr)")

        let work = try await mailroom(["worker", "--until-idle", "--tenant", slug])
        #expect(work.status != 0)
        #expect(work.stderr.contains("poll failed: \(slug)/Support/INBOX"), "\(work.stderr)")
        #expect(work.stderr.contains("authenticationFailed"), "\(work.stderr)")
        #expect(!work.stderr.contains(box.password))
    }

    @Test func statusOnAnEmptyDatabaseSaysToMigrate() async throws {
        let (url, name) = try await TestDatabase.createDatabase()
        defer { Task { try? await TestDatabase.dropDatabase(name) } }
        let run = try await mailroom(["status", "--database-url", url])
        #expect(run.status != 0)
        #expect(run.stderr.contains("run `mailroom migrate`"))
    }
}
