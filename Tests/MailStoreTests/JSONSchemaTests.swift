import Foundation
import MailTesting
import Testing

/// The JSON Schema subset validator the event tests check payloads with, and the published schemas
/// themselves (docs/events/).
@Suite struct JSONSchemaTests {
    static let schema = """
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t", "type": "object",
         "properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}, "ok": {"type": "boolean"},
                        "kind": {"type": "string", "enum": ["group", "personal"]},
                        "at": {"type": ["string", "null"], "format": "date-time"}},
         "required": ["id", "name", "kind"], "additionalProperties": false}
        """

    @Test func aConformingPayloadHasNoViolations() throws {
        let s = try JSONSchema(json: Self.schema)
        #expect(try s.violations(of: #"{"id": 7, "name": null, "ok": true, "kind": "group", "at": "2026-12-07T21:59:50.609543+00:00"}"#) == [])
        #expect(try s.violations(of: #"{"id": 7, "name": "x", "kind": "personal", "at": "2026-12-07T21:59:50Z"}"#) == [])
    }

    @Test func eachKindOfViolationIsReported() throws {
        let s = try JSONSchema(json: Self.schema)
        let cases: [(String, String)] = [
            (#"{"name": "x", "kind": "group"}"#, "/: missing required property id"),
            (#"{"id": 1, "name": "x", "kind": "group", "extra": 1}"#, "/: property extra is not allowed"),
            (#"{"id": "1", "name": "x", "kind": "group"}"#, "/id: expected integer, found string"),
            (#"{"id": 1.5, "name": "x", "kind": "group"}"#, "/id: expected integer, found number"),
            (#"{"id": true, "name": "x", "kind": "group"}"#, "/id: expected integer, found boolean"),
            (#"{"id": 1, "name": "x", "kind": "group", "ok": 1}"#, "/ok: expected boolean, found number"),
            (#"{"id": 1, "name": 3, "kind": "group"}"#, "/name: expected string or null, found number"),
            (#"{"id": 1, "name": "x", "kind": "team"}"#, "/kind: not one of the allowed values"),
            (#"{"id": 1, "name": "x", "kind": "group", "at": "2026-12-07 21:59:50Z"}"#, "/at: not an RFC 3339 date-time"),
            (#"[1]"#, "/: expected object, found array"),
        ]
        for (payload, expected) in cases {
            #expect(try s.violations(of: payload) == [expected], "\(payload)")
        }
    }

    @Test func arraysCheckEachItemAndTheirLength() throws {
        let s = try JSONSchema(json: #"""
            {"type": "array", "minItems": 1,
             "items": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}}
            """#)
        #expect(try s.violations(of: #"[{"a": "x"}, {"a": "y"}]"#) == [])
        #expect(try s.violations(of: #"[]"#) == ["/: fewer than 1 items"])
        #expect(try s.violations(of: #"[{"a": "x"}, {"a": 2}, {}]"#) == ["/1/a: expected string, found number",
                                                                       "/2: missing required property a"])
        #expect(throws: JSONSchema.Invalid.self) { _ = try JSONSchema(json: #"{"type": "array", "minItems": -1}"#) }
        #expect(throws: JSONSchema.Invalid.self) { _ = try JSONSchema(json: #"{"items": {"pattern": "x"}}"#) }
    }

    @Test func dateTimesFollowRFC3339() {
        for good in ["2026-12-07T21:59:50Z", "2026-12-07t21:59:50.1z", "2026-12-07T21:59:50.609543+00:00", "1990-12-31T23:59:60-08:30"] {
            #expect(JSONSchema.isDateTime(good), "\(good)")
        }
        for bad in ["2026-12-07", "2026-13-07T21:59:50Z", "2026-12-07T24:00:00Z", "2026-12-07T21:59:50", "2026-12-07T21:59:50.Z",
                    "2026-12-07T21:59:50+0000", "2026-12-07T21:59:50Z ", "x026-12-07T21:59:50Z"] {
            #expect(!JSONSchema.isDateTime(bad), "\(bad)")
        }
    }

    @Test func aSchemaOutsideTheSubsetIsRefusedWhenRead() {
        for schema in [#"{"type": "object", "minProperties": 1}"#, #"{"type": "thing"}"#, #"{"additionalProperties": true}"#,
                       #"{"format": "email"}"#, #"{"enum": "a"}"#, #"{"properties": {"a": {"pattern": "x"}}}"#] {
            #expect(throws: JSONSchema.Invalid.self, "\(schema)") { _ = try JSONSchema(json: schema) }
        }
    }

    /// Every published schema is in the subset, describes an object with every property required and
    /// none other allowed, and there is one per event type Mailroom writes.
    @Test func everyPublishedEventSchemaIsReadable() throws {
        #expect(try EventSchemas.types() == [
            "account.connection_failed", "account.connection_restored", "account.reauth_required",
            "case.assigned", "case.created", "case.reopened",
            "email.bounced", "email.linked", "email.queued", "email.received", "email.send_failed", "email.sent",
            "folder.stalled", "webhook.disabled",
        ])
        for type in try EventSchemas.types() {
            let s = try EventSchemas.schema(type)
            #expect(try s.violations(of: "{}").contains { $0.hasPrefix("/: missing required property") }, "\(type)")
            #expect(try s.violations(of: "{\"surplus\": 1}").contains("/: property surplus is not allowed"), "\(type)")
        }
    }
}
