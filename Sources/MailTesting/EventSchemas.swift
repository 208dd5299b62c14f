import Foundation
import MailCore
import MailStore

/// The published event schemas (`docs/events/<type>.json`), read from the repository, and the check
/// the event tests make of every event they find.
public enum EventSchemas {
    /// The repository's `docs/events/` directory, found relative to this source file.
    public static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/events").standardized.path
    }

    /// The event types that have a schema: the file names without `.json`, sorted.
    public static func types() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// The schema of `type`; throws when there is none or it is outside the supported subset.
    public static func schema(_ type: String) throws -> JSONSchema {
        let path = directory + "/" + type + ".json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JSONSchema.Invalid(description: "no schema for event type \(type)")
        }
        return try JSONSchema(json: String(decoding: data, as: UTF8.self))
    }

    /// The violations of the event's payload against its type's schema, plus one when its version
    /// is not 1 (every type is at version 1); empty when it conforms.
    public static func violations(_ event: EventRecord) throws -> [String] {
        try schema(event.type).violations(of: event.payload) + (event.version == 1 ? [] : ["version \(event.version), expected 1"])
    }
}

extension EventSchemas {
    /// Every numbered event of `tenant`, in order, read through the pull cursor.
    public static func events(_ pool: PostgresPool, tenant: TenantID) async throws -> [EventRecord] {
        try await pool.transaction(tenant: tenant) { conn in
            var out: [EventRecord] = []
            while true {
                let page = try EventQueries.events(conn, after: out.last?.seq ?? 0, max: 1000)
                out += page
                if page.count < 1000 { return out }
            }
        }
    }

    /// The payload of an event as a JSON object, for checking fields.
    public static func payload(_ event: EventRecord) throws -> [String: JSONValue] {
        guard case .object(let o) = try JSONValue(parsing: event.payload) else {
            throw JSONSchema.Invalid(description: "the payload of event \(event.seq) is no object")
        }
        return o
    }
}
