import Foundation
import MailCore

extension EmailQueries {
    /// Stores the emails of one folder batch with a fixed number of statements (seven at most,
    /// whatever the batch size) instead of about six per email: each statement costs a round trip
    /// plus parsing and planning under row-level security, which dominated the import. The
    /// statements are prepared once per connection (those whose text depends on the number of rows,
    /// once per row count, so a connection holds at most one variant per batch size it has seen:
    /// up to the worker's batch size of them), and everything after the insert of the emails goes in
    /// one round trip (pipeline mode).
    ///
    /// Writes exactly the rows `emailImport` writes for the same emails in the same order, with the
    /// same guarantees: dedupe on `(tenant_id, message_id)` with `ON CONFLICT DO NOTHING` (an email
    /// already stored, or repeated within the batch, is linked, not duplicated); recipients and
    /// attachments only for new emails; the account link moves to the last placement given for an
    /// email; users and teams are added idempotently. All placements must share the account,
    /// folder and target (one folder's batch). Call inside a transaction scoped to the tenant;
    /// results are in the order of `items`.
    public static func emailImportBatch(_ conn: PostgresConnection, tenant: TenantID,
                                        items: [(email: NewEmail, placement: EmailPlacement)]) throws -> [ImportResult] {
        guard let first = items.first?.placement else { return [] }
        guard items.allSatisfy({ $0.placement.accountID == first.accountID && $0.placement.target == first.target }) else {
            throw PostgresError(code: .queryFailed, message: "emailImportBatch: placements of one batch must share account and target")
        }

        // 1. Insert the first occurrence of each Message-ID; RETURNING names the ones that were new.
        var firstIndex: [String: Int] = [:]
        for (i, item) in items.enumerated() where firstIndex[item.email.messageID] == nil { firstIndex[item.email.messageID] = i }
        let candidates = firstIndex.values.sorted()
        var insert = StatementBuilder()
        insert.text = """
            INSERT INTO email (tenant_id, message_id, message_id_synthetic, subject, from_address, from_name,
                               date_sent, date_received, body_text, body_html, body_html_safe, headers, in_reply_to, "references",
                               size, is_header_only, import_note)
            VALUES
            """
        for (n, i) in candidates.enumerated() {
            let e = items[i].email
            let from = e.from
            let headers = PostgresJSON(rows: e.headers.map { [$0.name, $0.value] })
            insert.text += n == 0 ? "\n(" : ",\n("
            insert.text += [insert.bind(tenant), insert.bind(e.messageID), insert.bind(e.messageIDIsSynthetic),
                            insert.bind(e.subject), insert.bind(from?.address), insert.bind(from?.name),
                            insert.bind(e.dateSent), insert.bind(e.dateReceived), insert.bind(e.bodyText),
                            insert.bind(e.bodyHTML), insert.bind(e.bodyHTMLSafe), insert.bind(headers) + "::jsonb",
                            insert.bind(e.inReplyTo),
                            insert.bind(PostgresArray(e.references)) + "::text[]", insert.bind(e.size),
                            insert.bind(e.isHeaderOnly), insert.bind(e.importNote)].joined(separator: ", ") + ")"
        }
        insert.text += "\nON CONFLICT (tenant_id, message_id) DO NOTHING\nRETURNING id, message_id"
        var ids: [String: EmailID] = [:]
        var newIDs: Set<String> = []
        for row in try conn.query(insert.sql, prepared: true) {
            let messageID: String = try row.decode(at: 1)
            ids[messageID] = try row.decode(at: 0)
            newIDs.insert(messageID)
        }

        // 2. The ids of Message-IDs stored before (a join over unnest for the reason in `emailParentsByMessageID`).
        let known = firstIndex.keys.filter { ids[$0] == nil }
        if !known.isEmpty {
            for row in try conn.query("""
                SELECT e.id, e.message_id FROM unnest(\(PostgresArray(known))::text[]) AS wanted(message_id)
                JOIN email e ON e.tenant_id = \(tenant) AND e.message_id = wanted.message_id
                """, prepared: true) {
                ids[try row.decode(at: 1)] = try row.decode(at: 0)
            }
        }
        var results: [ImportResult] = []
        for (i, item) in items.enumerated() {
            guard let id = ids[item.email.messageID] else {
                throw PostgresError(code: .queryFailed, message: "emailImportBatch: no email row for a Message-ID after insert")
            }
            results.append(ImportResult(emailID: id, isNew: newIDs.contains(item.email.messageID) && firstIndex[item.email.messageID] == i))
        }

        // 3. Recipients and attachments of the new emails. From here on the statements only write,
        //    in order, in one round trip.
        var writes: [(sql: SQL, prepared: Bool)] = []
        let fresh = items.indices.filter { results[$0].isNew }
        if let recipients = recipientsBatchSQL(tenant: tenant, fresh.map { (results[$0].emailID, items[$0].email.recipients) }) {
            writes.append((recipients, true))
        }
        var attachments = StatementBuilder()
        attachments.text = """
            INSERT INTO attachment (tenant_id, email_id, position, filename, content_type, content_id, is_inline, size, data)
            VALUES
            """
        var attachmentRows = 0
        for i in fresh {
            for (position, a) in items[i].email.attachments.enumerated() {
                attachments.text += attachmentRows == 0 ? "\n(" : ",\n("
                attachments.text += [attachments.bind(tenant), attachments.bind(results[i].emailID), attachments.bind(position),
                                     attachments.bind(a.filename), attachments.bind(a.contentType), attachments.bind(a.contentID),
                                     attachments.bind(a.isInline), attachments.bind(a.data.count),
                                     attachments.bind(a.data)].joined(separator: ", ") + ")"
                attachmentRows += 1
            }
        }
        // Not prepared: its text depends on the number of attachments, which varies from batch to batch.
        if attachmentRows > 0 { writes.append((attachments.sql, false)) }

        // 4. Account links: one row per email, the last placement winning (as sequential calls would
        //    leave it; DO UPDATE may not touch one row twice in a statement).
        var lastPlacement: [EmailID: EmailPlacement] = [:]
        var linkOrder: [EmailID] = []
        for (i, item) in items.enumerated() {
            if lastPlacement.updateValue(item.placement, forKey: results[i].emailID) == nil { linkOrder.append(results[i].emailID) }
        }
        var links = StatementBuilder()
        links.text = "INSERT INTO email_account_link (tenant_id, email_id, account_id, folder_id, uidvalidity, uid)\nVALUES"
        for (n, id) in linkOrder.enumerated() {
            let p = lastPlacement[id]!
            links.text += (n == 0 ? "\n(" : ",\n(") + [links.bind(tenant), links.bind(id), links.bind(p.accountID),
                links.bind(p.folderID), links.bind(p.uidValidity), links.bind(p.uid)].joined(separator: ", ") + ")"
        }
        links.text += """

            ON CONFLICT (tenant_id, email_id, account_id) DO UPDATE
                SET folder_id = excluded.folder_id, uidvalidity = excluded.uidvalidity, uid = excluded.uid
                WHERE (email_account_link.folder_id, email_account_link.uidvalidity, email_account_link.uid)
                      IS DISTINCT FROM (excluded.folder_id, excluded.uidvalidity, excluded.uid)
            """
        writes.append((links.sql, true))

        // 5. Teams and users, as `deliverToUsers` does per email.
        let emailIDs = PostgresArray(linkOrder.map(\.rawValue))
        writes.append(("""
            INSERT INTO email_team (tenant_id, email_id, team_id)
            SELECT t.tenant_id, e.id, t.team_id
            FROM unnest(\(emailIDs)::bigint[]) AS e(id)
            CROSS JOIN mail_account_team t WHERE t.tenant_id = \(tenant) AND t.account_id = \(first.accountID)
            ON CONFLICT DO NOTHING
            """, true))
        writes.append(("""
            WITH emails AS (
                SELECT DISTINCT id FROM unnest(\(emailIDs)::bigint[]) AS e(id)
            ), acct AS (
                SELECT kind, owner_user_id, case_add_all_team_users FROM mail_account WHERE tenant_id = \(tenant) AND id = \(first.accountID)
            ), by_address AS (
                SELECT r.email_id, o.user_id, bool_or(r.kind = 'from') AS is_sender
                FROM email_recipient r
                JOIN email_address_owner o ON o.tenant_id = r.tenant_id AND o.address = r.address AND o.user_id IS NOT NULL
                WHERE r.tenant_id = \(tenant) AND r.email_id IN (SELECT id FROM emails) AND r.kind IN ('from', 'to', 'cc')
                GROUP BY r.email_id, o.user_id
            ), account_users AS (
                SELECT tu.user_id FROM team_user tu, acct
                WHERE acct.kind = 'group' AND acct.case_add_all_team_users AND tu.tenant_id = \(tenant)
                  AND tu.team_id IN (SELECT team_id FROM mail_account_team WHERE tenant_id = \(tenant) AND account_id = \(first.accountID))
                UNION ALL
                SELECT owner_user_id FROM acct WHERE owner_user_id IS NOT NULL
            ), candidates AS (
                SELECT e.id AS email_id, a.user_id, false AS is_sender FROM emails e CROSS JOIN account_users a
                UNION ALL
                SELECT email_id, user_id, is_sender FROM by_address
            )
            INSERT INTO email_user (tenant_id, email_id, user_id, is_read, folder)
            SELECT \(tenant), c.email_id, c.user_id, bool_or(c.is_sender),
                   CASE WHEN bool_or(c.is_sender) THEN 'sent' ELSE \(first.target) END
            FROM candidates c JOIN app_user u ON u.tenant_id = \(tenant) AND u.id = c.user_id AND u.is_active
            GROUP BY c.email_id, c.user_id
            ON CONFLICT (tenant_id, email_id, user_id) DO NOTHING
            """, true))
        _ = try conn.pipeline(writes)
        return results
    }

    /// Recipients of several new emails in one `unnest` insert; positions count per kind and email.
    /// Nil when there are none.
    private static func recipientsBatchSQL(tenant: TenantID, _ emails: [(EmailID, [NewEmail.Recipient])]) -> SQL? {
        var ids: [Int64] = [], kinds: [String] = [], pos: [Int] = [], addrs: [String] = [], names: [String?] = []
        for (id, recipients) in emails {
            var positions: [String: Int] = [:]
            for r in recipients {
                let p = positions[r.kind.rawValue, default: 0]
                positions[r.kind.rawValue] = p + 1
                ids.append(id.rawValue); kinds.append(r.kind.rawValue); pos.append(p)
                addrs.append(r.address.lowercased()); names.append(r.name)
            }
        }
        guard !ids.isEmpty else { return nil }
        return """
            INSERT INTO email_recipient (tenant_id, email_id, kind, position, address, name)
            SELECT \(tenant), e, k, p, a, n
            FROM unnest(\(PostgresArray(ids))::bigint[], \(PostgresArray(kinds))::text[], \(PostgresArray(pos))::int[],
                        \(PostgresArray(addrs))::text[], \(PostgresArray(names))::text[]) AS t(e, k, p, a, n)
            ON CONFLICT DO NOTHING
            """
    }
}

/// Builds a statement with a variable number of rows: `bind` appends a parameter and returns its
/// placeholder (`$n`); values never enter the text.
struct StatementBuilder {
    var text = ""
    var binds: [PostgresBind] = []

    mutating func bind<T: PostgresEncodable>(_ value: T?) -> String {
        binds.append(value?.postgresBind ?? .null)
        return "$\(binds.count)"
    }

    var sql: SQL { SQL(unsafeSQL: text, binds: binds) }
}
