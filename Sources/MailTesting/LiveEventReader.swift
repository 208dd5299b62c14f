import MailCore
import MailStore

/// A host reading a tenant's events with its cursor while they are written (`mailroom_events`): pages
/// until `finished()` was true before a page came back empty. Every page must start right after the
/// cursor it was asked with and run without a gap; `faults` lists each one that did not. A number
/// below the cursor committed later would be stepped over and missing from `events`.
public enum LiveEventReader {
    public static func read(_ pool: PostgresPool, tenant: TenantID, pageSize: Int,
                            finished: @Sendable () -> Bool) async throws -> (events: [EventRecord], faults: [String]) {
        var cursor: Int64 = 0
        var events: [EventRecord] = []
        var faults: [String] = []
        while true {
            let done = finished()
            let after = cursor
            let page = try await pool.transaction(tenant: tenant) { try EventQueries.events($0, after: after, max: pageSize) }
            if page.isEmpty {
                if done { break }
                await Task.yield()
                continue
            }
            if page.map(\.seq) != Array((cursor + 1)...(cursor + Int64(page.count))) {
                faults.append("after \(cursor): \(page.map(\.seq))")
            }
            cursor = page.last!.seq
            events += page
        }
        return (events, faults)
    }
}
