import Logging
import MailCore
import MailDomain
import MailStore

/// The storm breaker at the router's decision points: before a mail opens or reopens a case, it takes
/// one of the sender's slots (`case.sender_limit`, counted per sender and tenant in SQL, so replicas
/// never exceed the limit together). Past the limit the mail is still stored and linked, but opens
/// nothing, reopens nothing and gets no auto-reply (`CaseRouting.limited`, `CaseRouting.reopens`).
///
/// The first mail held back of a trip is logged (once per trip, whichever replica meets it); the
/// trip itself is a row `mailroom status` lists and the worker's gauges count, until the window
/// passes and the sender's next mail takes a slot again.
struct StormBreaker: Sendable {
    let logger: Logger

    /// The breaker's answer for `slot` of `sender` (lower-cased), under the limits of `account`.
    func take(_ conn: PostgresConnection, tenant: TenantID, account: MailAccountRecord, rules: CaseRules, sender: String,
              slot: CaseRouting.BreakerSlot, email: EmailID) throws -> CaseRouting.BreakerAnswer {
        let answer = try CaseSenderLimitQueries.caseSenderTake(conn, tenant: tenant, account: account.id, sender: sender, slot: slot)
        if answer == .tripped {
            let limit = slot == .create ? rules.senderLimit.cases : rules.senderLimit.reopens
            logger.warning("storm breaker tripped: sender past its limit; its mail opens and reopens nothing until the window passes",
                           metadata: ["tenant_id": "\(tenant)", "account": "\(account.name)", "account_id": "\(account.id)",
                                      "sender": "\(sender)", "slot": "\(slot.rawValue)", "limit": "\(limit)",
                                      "window_seconds": "\(rules.senderLimit.window.components.seconds)", "email_id": "\(email)"])
        }
        return answer
    }
}
