import MailStore
import MailTesting
import Testing

/// Deleting an email makes PostgreSQL find every row referring to it; a foreign key to `email` with no
/// index leading with its columns turns that into a scan per deleted email, and deleting a tenant's mail
/// into quadratic time (migrations/0022_email_reference_indexes.sql). Every such key has one.
@Suite struct ForeignKeyIndexTests {
    @Test func everyForeignKeyToAnEmailHasAnIndex() async throws {
        let owner = try await TestDatabase.pool()
        let unindexed = try await owner.withConnection { conn in
            try conn.query("""
                SELECT coalesce(string_agg(c.conrelid::regclass || '.' || c.conname, ', ' ORDER BY 1), '')
                FROM pg_constraint c
                WHERE c.contype = 'f' AND c.confrelid = 'email'::regclass
                  AND NOT EXISTS (
                      SELECT 1 FROM pg_index i
                      WHERE i.indrelid = c.conrelid
                        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
                """).one().decode(String.self, at: 0)
        }
        #expect(unindexed == "")
    }
}
