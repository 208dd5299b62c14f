import CLibPQ
import Foundation

extension PostgresConnection {
    /// Runs `statements` in order in one round trip (libpq pipeline mode) and returns each one's rows.
    ///
    /// The statements run as if sent one by one, each in the extended protocol (so no multi-statement
    /// text): after the first error the server skips the rest, that error is thrown, and an open
    /// transaction is left aborted for the caller to roll back. Prepared statements are prepared in
    /// the same round trip the first time this connection sees their text.
    public func pipeline(_ statements: [(sql: SQL, prepared: Bool)]) throws(PostgresError) -> [PostgresRows] {
        guard PQenterPipelineMode(handle) == 1 else { throw fail(message: String(cString: PQerrorMessage(handle))) }
        /// What each sent message returns, in order: a statement's rows, or a new prepared statement's name.
        enum Sent { case statement, prepare(text: String, name: String) }
        var sent: [Sent] = []
        var sendError: PostgresError?
        var pending: [String: String] = [:]
        for (sql, prepared) in statements {
            let n = sql.binds.count
            var name: String?
            if prepared {
                if let known = preparedNames[sql.text] ?? pending[sql.text] {
                    name = known
                } else {
                    let fresh = "mailroom_\(preparedNames.count + pending.count + 1)"
                    guard PQsendPrepare(handle, fresh, sql.text, Int32(n), nil) == 1 else {
                        sendError = fail(message: String(cString: PQerrorMessage(handle)))
                        break
                    }
                    sent.append(.prepare(text: sql.text, name: fresh))
                    pending[sql.text] = fresh
                    name = fresh
                }
            }
            // libpq copies the parameters into its output buffer here, so they may be freed after.
            let ok: Int32 = sql.binds.withLibPQParameters { (count, values, lengths, formats) -> Int32 in
                if let name {
                    return PQsendQueryPrepared(handle, name, count, values, lengths, formats, 0)
                }
                return PQsendQueryParams(handle, sql.text, count, nil, values, lengths, formats, 0)
            }
            guard ok == 1 else { sendError = fail(message: String(cString: PQerrorMessage(handle))); break }
            sent.append(.statement)
        }
        // The sync ends the pipeline on the server (and flushes what was queued here).
        guard PQpipelineSync(handle) == 1 else { throw sendError ?? fail(message: String(cString: PQerrorMessage(handle))) }
        var results: [PostgresRows] = []
        var firstError = sendError
        for item in sent {
            let result = PQgetResult(handle)
            if let result, PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
            } else {
                do {
                    let rows = try consume(result)
                    switch item {
                    case .statement: results.append(rows)
                    case .prepare(let text, let name): preparedNames[text] = name
                    }
                } catch {
                    if firstError == nil { firstError = error }
                }
            }
            if result == nil || isBroken { break }
            // Each statement's results end with a nil.
            while let extra = PQgetResult(handle) { PQclear(extra) }
        }
        if !isBroken {
            // The sync point's own result, then back to ordinary mode.
            while let r = PQgetResult(handle) {
                let status = PQresultStatus(r)
                PQclear(r)
                if status == PGRES_PIPELINE_SYNC { break }
            }
            if PQexitPipelineMode(handle) != 1 && firstError == nil {
                firstError = fail(message: String(cString: PQerrorMessage(handle)))
            }
        }
        if let firstError { throw firstError }
        return results
    }
}
