import Foundation
import Logging
import MailCore
import MailStore

extension Maintenance {
    /// Refreshes, per active tenant, how many senders are past their storm breaker limit now and how
    /// many mails those trips held back (`CaseSenderLimitQueries.caseSenderListTripped`, one
    /// transaction per tenant: the table is behind forced row-level security). The sender itself is
    /// never a label (unbounded); `mailroom status` names it. A failure keeps the previous values and
    /// is logged.
    public func publishStormBreakers() async {
        guard let tenants = await listTenants(all: false, for: "storm breaker gauges") else { return }
        var tripped: [String: Int] = [:], held: [String: Int] = [:]
        do {
            for t in tenants {
                let trips = try await pool.transaction(tenant: t.id) { try CaseSenderLimitQueries.caseSenderListTripped($0, tenant: t.id) }
                tripped[t.slug] = trips.count
                held[t.slug] = trips.map(\.heldBack).reduce(0, +)
            }
        } catch {
            logger.warning("cannot read storm breakers", metadata: ["error": "\(error)"])
            return
        }
        metrics.setStormBreakers(tripped: tripped, held: held)
    }
}
