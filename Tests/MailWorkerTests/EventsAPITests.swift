import Foundation
import MailCore
import MailCrypto
import MailProvisioning
import MailStore
import MailTesting
import Testing

extension WorkerProcessTests {
    /// `mailroom worker --api-port`: the events pull API of a real worker process (as the service
    /// role) on a fresh database, with keys made by the CLI and by a manifest.
    @Suite(.serialized) struct EventsAPITests {
        struct Page {
            var status: Int
            var json: [String: Any]
            var body: String
        }

        static func get(_ port: Int, _ query: String = "", key: String?, scheme: String = "Bearer") throws -> Page {
            let headers = key.map { ["Authorization": "\(scheme) \($0)"] } ?? [:]
            let r = try LoopbackHTTP.get(port: port, path: "/v1/events\(query)", headers: headers)
            let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]) ?? [:]
            return Page(status: r.status, json: json, body: r.body)
        }

        static func seqs(_ page: Page) -> [Int] { (page.json["events"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int } }

        static func cli(_ fixture: ReplicaFixture, _ args: [String]) async throws -> MailroomBinary.Run {
            try await MailroomBinary.run(["api-key"] + args, env: ["MAILROOM_DATABASE_URL": fixture.url])
        }

        /// Writes `payloads` as events of `tenant`, as the service role, one transaction.
        static func emit(_ fixture: ReplicaFixture, _ tenant: TenantID, _ payloads: [Int]) async throws {
            let service = PostgresPool(.init(conninfo: try TestDatabase.url(as: .service, databaseURL: fixture.url), maxConnections: 1))
            defer { service.close() }
            try await service.transaction(tenant: tenant) { conn in
                for n in payloads { try EventQueries.emit(conn, tenant: tenant, type: "test.happened", payload: "{\"n\": \(n)}") }
            }
        }

        @Test func pagesKeysAndErrorsOfARealWorker() async throws {
            let fixture = try await ReplicaFixture.make()
            do {
                let acme = try await fixture.makeTenant("api-acme")
                let other = try await fixture.makeTenant("api-other")
                try await Self.emit(fixture, acme, [1, 2, 3, 4, 5])
                try await Self.emit(fixture, other, [101, 102])

                let made = try await Self.cli(fixture, ["create", "--tenant", "api-acme", "--name", "crm"])
                #expect(made.status == 0, "\(made.stderr)")
                let key = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect((try? APIKey.parse(key)) != nil)
                let otherKey = try await Self.cli(fixture, ["create", "--tenant", "api-other", "--name", "crm"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                let duplicate = try await Self.cli(fixture, ["create", "--tenant", "api-acme", "--name", "crm"])
                #expect(duplicate.status != 0 && duplicate.stderr.contains("already has a live API key named crm"))

                let port = try LoopbackHTTP.freePort()
                let log = FileManager.default.temporaryDirectory.appendingPathComponent("api-\(UUID().uuidString).log").path
                defer { try? FileManager.default.removeItem(atPath: log) }
                try fixture.startReplica(logTo: log, extraArguments: ["--api-port", "\(port)", "--log-level", "trace"])
                try await fixture.waitUntil(timeout: .seconds(30), "the events API answers") {
                    (try? Self.get(port, key: key))?.status == 200
                }

                // Paging with the cursor, in order.
                var page = try Self.get(port, "?after=0&limit=2", key: key)
                #expect(Self.seqs(page) == [1, 2])
                #expect(page.json["next_after"] as? Int == 2)
                page = try Self.get(port, "?after=2&limit=2", key: key)
                #expect(Self.seqs(page) == [3, 4])
                page = try Self.get(port, "?after=4&limit=2", key: key)
                #expect(Self.seqs(page) == [5])
                #expect(page.json["next_after"] as? Int == 5)
                page = try Self.get(port, "?after=5", key: key)
                #expect(Self.seqs(page) == [] && page.json["next_after"] as? Int == 5)
                page = try Self.get(port, key: key)
                #expect(Self.seqs(page) == [1, 2, 3, 4, 5])
                let first = try #require((page.json["events"] as? [[String: Any]])?.first)
                #expect((first["id"] as? String)?.count == 36)
                #expect(first["type"] as? String == "test.happened")
                #expect(first["version"] as? Int == 1)
                #expect((first["payload"] as? [String: Any])?["n"] as? Int == 1)
                let occurred = try #require(first["occurred_at"] as? String)
                #expect(occurred.hasSuffix("Z") && (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(occurred)) != nil)

                // Another tenant's key sees its own tenant's events, never these.
                let theirs = try Self.get(port, key: otherKey)
                #expect(Self.seqs(theirs) == [1, 2])
                #expect((theirs.json["events"] as? [[String: Any]])?.compactMap { ($0["payload"] as? [String: Any])?["n"] as? Int } == [101, 102])

                // 401 alike for a missing, malformed, unknown or mismatched key.
                let otherSecret = String(otherKey.split(separator: "_")[2])
                let acmeID = try APIKey.parse(key).keyID
                let refusals = [try Self.get(port, key: nil), try Self.get(port, key: "garbage"),
                                try Self.get(port, key: APIKey.generate().text.value),
                                try Self.get(port, key: "mrk_\(acmeID)_\(otherSecret)"),
                                try Self.get(port, key: key, scheme: "Basic")]
                for r in refusals {
                    #expect(r.status == 401)
                    #expect(r.body == refusals[0].body)
                }
                #expect(try LoopbackHTTP.get(port: port, path: "/v1/events").headers["www-authenticate"] == "Bearer")

                // 400 with a JSON error for bad parameters.
                for query in ["?after=-1", "?after=x", "?limit=0", "?limit=1001", "?limit=ten", "?limt=5"] {
                    let bad = try Self.get(port, query, key: key)
                    #expect(bad.status == 400, "\(query)")
                    #expect((bad.json["error"] as? String)?.isEmpty == false, "\(query)")
                }
                #expect(try Self.get(port, "?limit=1000", key: key).status == 200)

                // Long-poll: a request past the last event waits its `wait` for one, and the next
                // event's notification ends the wait early.
                let quiet = ContinuousClock.now
                #expect(Self.seqs(try Self.get(port, "?after=5&wait=1", key: key)) == [])
                #expect(ContinuousClock.now - quiet >= .seconds(1))
                let waiting = Task.detached { Self.seqs(try Self.get(port, "?after=5&wait=4", key: key)) }
                let emitted = ContinuousClock.now
                try await Self.emit(fixture, acme, [6])
                #expect(try await waiting.value == [6])
                #expect(ContinuousClock.now - emitted < .seconds(3), "the wait was not ended by the event")
                #expect(try Self.get(port, "?wait=31", key: key).status == 400)

                // Listed without secrets; revoked by the CLI, refused at once, no restart.
                let listed = try await Self.cli(fixture, ["list", "--tenant", "api-acme"])
                #expect(listed.status == 0 && listed.stdout.contains(acmeID) && !listed.stdout.contains(String(key.split(separator: "_")[2])))
                let revoked = try await Self.cli(fixture, ["revoke", "--tenant", "api-acme", "--name", "crm"])
                #expect(revoked.status == 0, "\(revoked.stderr)")
                #expect(try Self.get(port, key: key).status == 401)
                #expect(try Self.get(port, key: otherKey).status == 200)
                #expect(try await Self.cli(fixture, ["revoke", "--tenant", "api-acme", "--name", "crm"]).status != 0)

                // A manifest's key works; dropped from the manifest, it is revoked.
                let feed = APIKey.generate().text.value
                let secrets = SecretBox(key: try SecretKey.fromEnvironment())
                let withKey = try ManifestParser.parse("""
                    tenant: api-acme
                    api_keys:
                      - {name: feed, key: env:FEED_KEY}
                    """, environment: ["FEED_KEY": feed])
                _ = try await ManifestApplier(secrets: secrets).apply(withKey, to: fixture.pool)
                #expect(Self.seqs(try Self.get(port, "?after=3", key: feed)) == [4, 5, 6])
                // Applied again: nothing changes.
                #expect(try await ManifestApplier(secrets: secrets).apply(withKey, to: fixture.pool).changes == 0)
                _ = try await ManifestApplier(secrets: secrets).apply(try ManifestParser.parse("tenant: api-acme", environment: [:]), to: fixture.pool)
                #expect(try Self.get(port, key: feed).status == 401)
                #expect(try Self.get(port, key: otherKey).status == 200)

                // No key in the worker's log or in `mailroom status`.
                let status = try await MailroomBinary.run(["status", "--tenant", "api-acme"], env: ["MAILROOM_DATABASE_URL": fixture.url])
                // SIGTERM does not wait out a waiting request: it is answered and the worker stops.
                let lastWait = Task.detached { try Self.get(port, "?after=6&wait=30", key: otherKey).status }
                let stopping = ContinuousClock.now
                #expect(fixture.stopAll() == [0])
                #expect(ContinuousClock.now - stopping < .seconds(15))
                // Answered, when it reached the server before the SIGTERM closed the port.
                if let answered = try? await lastWait.value { #expect(answered == 200) }
                let logged = try String(contentsOfFile: log, encoding: .utf8)
                #expect(logged.contains("serving the events API"))
                for secret in [key, otherKey, feed].map({ String($0.split(separator: "_")[2]) }) {
                    #expect(!logged.contains(secret))
                    #expect(!status.stdout.contains(secret) && !status.stderr.contains(secret))
                }
            } catch {
                await fixture.tearDown()
                throw error
            }
            await fixture.tearDown()
        }
    }
}
