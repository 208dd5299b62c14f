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
            let binds = sql.binds
            let n = binds.count
            var values = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            var lengths = [Int32](repeating: 0, count: n)
            var formats = [Int32](repeating: 0, count: n)
            for (i, b) in binds.enumerated() {
                switch b {
                case .null: values[i] = nil
                case .text(let s): values[i] = strdup(s)
                case .binary(let bytes):
                    let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
                    bytes.withUnsafeBufferPointer { src in
                        if let base = src.baseAddress { UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: bytes.count) }
                    }
                    values[i] = p
                    lengths[i] = Int32(bytes.count)
                    formats[i] = 1
                }
            }
            defer {
                for (i, b) in binds.enumerated() {
                    switch b {
                    case .text: free(values[i])
                    case .binary: values[i]?.deallocate()
                    case .null: break
                    }
                }
            }
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
            let ok: Int32 = values.withUnsafeBufferPointer { vp in
                vp.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(n, 1)) { valuesPtr in
                    if let name {
                        PQsendQueryPrepared(handle, name, Int32(n), n == 0 ? nil : valuesPtr, lengths, formats, 0)
                    } else {
                        PQsendQueryParams(handle, sql.text, Int32(n), nil, n == 0 ? nil : valuesPtr, lengths, formats, 0)
                    }
                }
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
