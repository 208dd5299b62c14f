import MailCore

extension MailAccountQueries {
    /// A `mail_account` column holding a value sealed by `SecretBox`; the names are a fixed list, never input.
    public enum SealedColumn: String, Sendable, CaseIterable {
        case imapSecret = "imap_secret"
        case smtpSecret = "smtp_secret"
    }

    /// One sealed value to re-seal.
    public struct SealedValue: Sendable {
        public var accountID: AccountID
        public var column: SealedColumn
        public var sealed: [UInt8]
    }

    /// The next `limit` accounts after `after` (by id) with a value in `column` whose first bytes are not
    /// `header` (the current key's format and key id), locked `FOR UPDATE` so an apply running beside the
    /// rotation waits rather than races.
    public static func mailAccountListSealedNotBy(_ conn: PostgresConnection, tenant: TenantID, column: SealedColumn,
                                                  header: [UInt8], after: AccountID?, limit: Int) throws -> [SealedValue] {
        let c = column.rawValue
        return try conn.query("""
            SELECT id, \(unsafeRaw: c) FROM mail_account
            WHERE tenant_id = \(tenant) AND id > \(after?.rawValue ?? 0) AND \(unsafeRaw: c) IS NOT NULL
              AND substr(\(unsafeRaw: c), 1, \(header.count)) <> \(header)::bytea
            ORDER BY id LIMIT \(limit) FOR UPDATE
            """).map { SealedValue(accountID: try $0.decode(at: 0), column: column, sealed: try $0.decode(at: 1)) }
    }

    /// Replaces a sealed value by its re-sealed form, only if it still holds `old`. Leaves `updated_at`
    /// alone: the credential itself did not change. Returns the rows changed (0 or 1).
    public static func mailAccountResealValue(_ conn: PostgresConnection, tenant: TenantID, id: AccountID,
                                              column: SealedColumn, old: [UInt8], new: [UInt8]) throws -> Int {
        let c = column.rawValue
        return try conn.execute("""
            UPDATE mail_account SET \(unsafeRaw: c) = \(new)
            WHERE tenant_id = \(tenant) AND id = \(id) AND \(unsafeRaw: c) = \(old)::bytea
            """)
    }

    /// How many values of each column each sealer holds, by header: `[0x01]` for format version 1 (which names
    /// no key), `0x02 || key id` for version 2, the first byte otherwise.
    public static func mailAccountCountSealers(_ conn: PostgresConnection, tenant: TenantID) throws
        -> [(column: SealedColumn, header: [UInt8], count: Int)] {
        var out: [(column: SealedColumn, header: [UInt8], count: Int)] = []
        for column in SealedColumn.allCases {
            let c = column.rawValue
            for row in try conn.query("""
                SELECT CASE WHEN get_byte(\(unsafeRaw: c), 0) = 2 THEN substr(\(unsafeRaw: c), 1, 5)
                            ELSE substr(\(unsafeRaw: c), 1, 1) END AS header, count(*)
                FROM mail_account
                WHERE tenant_id = \(tenant) AND \(unsafeRaw: c) IS NOT NULL AND length(\(unsafeRaw: c)) > 0
                GROUP BY 1 ORDER BY 1
                """) {
                out.append((column, try row.decode(at: 0), Int(try row.decode(Int64.self, at: 1))))
            }
        }
        return out
    }
}
