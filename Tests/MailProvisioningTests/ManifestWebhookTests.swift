import Foundation
import MailCore
import MailDomain
import MailCrypto
import MailStore
import MailTesting
import Testing
@testable import MailProvisioning

/// `webhooks:` in the manifest (docs/manifest.md, docs/webhooks.md): what is refused at parse time,
/// and what `mailroom apply` stores, against the real database.
@Suite struct ManifestWebhookTests {
    static func yaml(_ hooks: String, slug: String = "acme") -> String {
        "tenant: \(slug)\nwebhooks:\n" + hooks
    }

    static func errors(_ yaml: String, environment: [String: String] = ["HOOK_SECRET": "s3cret-value"]) -> [String] {
        switch ManifestParser.check(yaml, environment: environment) {
        case .success: return []
        case .failure(let e): return e.errors.map(\.description)
        }
    }

    @Test func readsEndpointsWithDefaults() throws {
        let m = try ManifestParser.parse(Self.yaml("""
              - {name: crm, url: "https://crm.example.com/hooks", secret: env:HOOK_SECRET}
              - {name: cases, url: "https://93.184.216.34/in", events: [case.created], secret: env:HOOK_SECRET, retry_window: 12h}
            """), environment: ["HOOK_SECRET": "s3cret-value"])
        #expect(m.webhooks == [
            Manifest.Webhook(name: "crm", url: "https://crm.example.com/hooks", secret: Secret("s3cret-value")),
            Manifest.Webhook(name: "cases", url: "https://93.184.216.34/in", events: ["case.created"], secret: Secret("s3cret-value"),
                             retryWindow: .seconds(12 * 3600)),
        ])
    }

    @Test func batchIsANumberOfEventsPerPost() throws {
        let m = try ManifestParser.parse(Self.yaml("  - {name: bulk, url: \"https://crm.example.com/h\", secret: env:HOOK_SECRET, batch: 250}\n"),
                                         environment: ["HOOK_SECRET": "s3cret-value"])
        #expect(m.webhooks.map(\.batchSize) == [250])
        #expect(Self.errors(Self.yaml("  - {name: a, url: \"https://crm.example.com/h\", secret: env:HOOK_SECRET, batch: 0}\n")) == [
            "webhooks[0].batch: must be between 1 and 1000 (line 3)",
        ])
        #expect(Self.errors(Self.yaml("  - {name: a, url: \"https://crm.example.com/h\", secret: env:HOOK_SECRET, batch: many}\n")) == [
            "webhooks[0].batch: expected an integer (line 3)",
        ])
    }

    @Test func refusesPlainHTTPPrivateAddressesAndIncompleteEntries() {
        #expect(Self.errors(Self.yaml("  - {name: a, url: \"http://crm.example.com/x\", secret: env:HOOK_SECRET}\n")) == [
            "webhooks[0].url: must use https:// (\"crm.example.com\" is not in MAILROOM_INSECURE_HOSTS) (line 3)",
        ])
        #expect(Self.errors(Self.yaml("  - {name: a, url: \"https://10.1.2.3/x\", secret: env:HOOK_SECRET}\n")) == [
            "webhooks[0].url: host \"10.1.2.3\" refused: address class private, not in MAILROOM_ALLOWED_HOSTS (line 3)",
        ])
        #expect(Self.errors(Self.yaml("  - {name: a, url: \"https://[::1]:8443/x\", secret: env:HOOK_SECRET}\n")).first?
            .contains("host \"::1\" refused: address class loopback") == true)
        let broken = Self.errors(Self.yaml("""
              - {name: a, url: "ftp://x.example.com/", events: [Bad], secret: env:MISSING}
              - {name: a, url: "https://x.example.com/"}
            """))
        #expect(broken.contains { $0.hasPrefix("webhooks[0].url: invalid URL") })
        #expect(broken.contains { $0.hasPrefix("webhooks[0].events: unknown event type \"Bad\" (one of account.connection_failed, ") })
        #expect(broken.contains { $0.hasPrefix("webhooks[0].secret: environment variable MISSING is not set") })
        #expect(broken.contains { $0.hasPrefix("webhooks[1].name: duplicate webhook \"a\"") || $0.contains("\"a\"") && $0.contains("webhooks[1].name") })
        #expect(broken.contains { $0.hasPrefix("webhooks[1].secret: required") })
        // The secret's value never appears in an error.
        #expect(!Self.errors(Self.yaml("  - {name: a, url: \"http://crm.example.com/x\", secret: env:HOOK_SECRET}\n"))
            .joined().contains("s3cret-value"))
    }

    @Test func loopbackOverHTTPOnlyWhenTheOperatorAllowsIt() {
        let hook = Self.yaml("  - {name: local, url: \"http://127.0.0.1:8080/in\", secret: env:HOOK_SECRET}\n")
        #expect(!Self.errors(hook).isEmpty)
        var env = ["HOOK_SECRET": "x", OutboundPolicy.allowedHostsVariable: "127.0.0.1"]
        #expect(Self.errors(hook, environment: env) == [
            "webhooks[0].url: must use https:// (\"127.0.0.1\" is not in MAILROOM_INSECURE_HOSTS) (line 3)",
        ])
        env[OutboundPolicy.insecureHostsVariable] = "127.0.0.0/8"
        #expect(Self.errors(hook, environment: env).isEmpty)
    }

    @Test func applyStoresSealedSecretsUpdatesAndDeletesRemovedEndpoints() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let slug = TestDatabase.uniqueSlug("hook-apply")
        let hooks = """
              - {name: crm, url: "https://crm.example.com/hooks", secret: env:HOOK_SECRET}
              - {name: cases, url: "https://cases.example.com/in", events: [case.created], secret: env:HOOK_SECRET, retry_window: 1h, batch: 50}
            """
        let two = Self.yaml(hooks, slug: slug)
        let env = ["HOOK_SECRET": "first-secret"]
        let tenant = try await ManifestApplier(secrets: box).apply(try ManifestParser.parse(two, environment: env), to: pool).tenantID
        let rows = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("""
                SELECT id, name, url, array_to_string(event_types, ','), extract(epoch FROM retry_window)::int, secret, enabled,
                       batch_size
                FROM webhook_endpoint ORDER BY name
                """).map { (try $0.decode(Int64.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(String.self, at: 2),
                             try $0.decode(String.self, at: 3), try $0.decode(Int.self, at: 4), try $0.decode([UInt8].self, at: 5),
                             try $0.decode(Bool.self, at: 6), try $0.decode(Int.self, at: 7)) }
        }
        #expect(rows.map { "\($0.1)|\($0.2)|\($0.3)|\($0.4)|\($0.6)|\($0.7)" } == [
            "cases|https://cases.example.com/in|case.created|3600|true|50", "crm|https://crm.example.com/hooks||259200|true|1",
        ])
        for row in rows {
            // Sealed, bound to its row: opens with its own context only.
            #expect(!String(decoding: row.5, as: UTF8.self).contains("first-secret"))
            let context = WebhookEndpointRecord.secretContext(tenant: tenant, endpoint: row.0)
            #expect(try box.openSecret(row.5, context: context) == Secret("first-secret"))
            #expect(throws: CryptoError.self) { try box.openSecret(row.5, context: context + "x") }
        }
        // The same manifest again changes nothing; a new secret changes the sealed value.
        #expect(try await ManifestApplier(secrets: box).apply(try ManifestParser.parse(two, environment: env), to: pool).changes == 0)
        #expect(try await ManifestApplier(secrets: box).apply(
            try ManifestParser.parse(two, environment: ["HOOK_SECRET": "second"]), to: pool).changes == 2)
        // Removed from the manifest: deleted.
        let one = Self.yaml("  - {name: crm, url: \"https://crm.example.com/v2\", secret: env:HOOK_SECRET}\n", slug: slug)
        _ = try await ManifestApplier(secrets: box).apply(try ManifestParser.parse(one, environment: env), to: pool)
        let left = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("SELECT name || '|' || url FROM webhook_endpoint ORDER BY name").map { try $0.decode(String.self, at: 0) }
        }
        #expect(left == ["crm|https://crm.example.com/v2"])

        // The CRM reads the endpoints' state but not the secret.
        let crm = try await TestDatabase.pool(as: .crm, connections: 1)
        defer { crm.close() }
        let names = try await crm.transaction(tenant: tenant) { conn in
            try conn.query("SELECT name, enabled, cursor_seq, last_error FROM webhook_endpoint").map { try $0.decode(String.self, at: 0) }
        }
        #expect(names == ["crm"])
        await #expect(throws: PostgresError.self) {
            try await crm.transaction(tenant: tenant) { conn in _ = try conn.query("SELECT secret FROM webhook_endpoint") }
        }
        await #expect(throws: PostgresError.self) {
            try await crm.transaction(tenant: tenant) { conn in _ = try conn.execute("UPDATE webhook_endpoint SET cursor_seq = 0") }
        }
    }

    /// The event types a webhook may name are the ones with a published schema (docs/events/), so a
    /// type added to one and not the other fails here; a near miss is refused by name.
    @Test func subscribableEventTypesAreThePublishedOnes() throws {
        #expect(EventType.all == Set(try EventSchemas.types()))
        let errors = Self.errors(Self.yaml("  - {name: a, url: \"https://93.184.216.34/in\", events: [case.updated], secret: env:HOOK_SECRET}\n"))
        #expect(errors.count == 1 && errors.first?.hasPrefix("webhooks[0].events: unknown event type \"case.updated\"") == true, "\(errors)")
    }

}
