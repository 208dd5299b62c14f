import MailCore

extension OAuthGrantQueries {
    /// An `oauth_grant` column holding a token sealed with the oauth-token key; a fixed list, never input.
    public enum SealedColumn: String, Sendable, CaseIterable {
        case refreshToken = "refresh_token"
        case accessToken = "access_token"
    }

    /// The next `limit` grants after `after` (by account) whose token in `column` was not sealed with
    /// `header`, locked `FOR UPDATE`: a refresh running beside the rotation waits for it, and the
    /// rotation waits for a refresh holding the row.
    public static func grantListSealedNotBy(_ conn: PostgresConnection, tenant: TenantID, column: SealedColumn, header: [UInt8],
                                            after: AccountID?, limit: Int) throws -> [(account: AccountID, sealed: [UInt8])] {
        let c = column.rawValue
        return try conn.query("""
            SELECT account_id, \(unsafeRaw: c) FROM oauth_grant
            WHERE tenant_id = \(tenant) AND account_id > \(after?.rawValue ?? 0) AND \(unsafeRaw: c) IS NOT NULL
              AND substr(\(unsafeRaw: c), 1, \(header.count)) <> \(header)::bytea
            ORDER BY account_id LIMIT \(limit) FOR UPDATE
            """).map { (try $0.decode(at: 0), try $0.decode(at: 1)) }
    }

    /// Replaces a sealed token by its re-sealed form, only if it still holds `old` (a refresh that wrote
    /// a new token meanwhile wins). Returns the rows changed (0 or 1).
    public static func grantResealValue(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, column: SealedColumn,
                                        old: [UInt8], new: [UInt8]) throws -> Int {
        let c = column.rawValue
        return try conn.execute("""
            UPDATE oauth_grant SET \(unsafeRaw: c) = \(new)
            WHERE tenant_id = \(tenant) AND account_id = \(account) AND \(unsafeRaw: c) = \(old)::bytea
            """)
    }

    /// How many tokens each sealer holds, by header (as `mailAccountCountSealers`).
    public static func grantCountSealers(_ conn: PostgresConnection, tenant: TenantID) throws -> [(header: [UInt8], count: Int)] {
        var out: [(header: [UInt8], count: Int)] = []
        for column in SealedColumn.allCases {
            let c = column.rawValue
            out += try conn.query("""
                SELECT CASE WHEN get_byte(\(unsafeRaw: c), 0) = 2 THEN substr(\(unsafeRaw: c), 1, 5)
                            ELSE substr(\(unsafeRaw: c), 1, 1) END, count(*)
                FROM oauth_grant WHERE tenant_id = \(tenant) AND \(unsafeRaw: c) IS NOT NULL AND length(\(unsafeRaw: c)) > 0
                GROUP BY 1 ORDER BY 1
                """).map { (try $0.decode(at: 0), Int(try $0.decode(Int64.self, at: 1))) }
        }
        return out
    }
}
