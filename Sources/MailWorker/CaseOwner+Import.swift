import MailCore
import MailDomain
import MailStore

/// The case owner of imported emails (see `CaseOwner`): loaded once per import batch that stored
/// new emails, inside its transaction.
extension CaseOwner {
    /// The tenant's accounts as the import transaction sees them (one query).
    static func load(_ conn: PostgresConnection, tenant: TenantID) throws -> CaseOwner {
        CaseOwner(accounts: try MailAccountQueries.mailAccountCaseOwners(conn, tenant: tenant))
    }

    /// The account whose Email-to-Case rules route `email`, or nil for the polling account's.
    func owner(of email: NewEmail) -> AccountID? {
        guard !isEmpty else { return nil }
        return owner(Addressing(
            to: email.recipients.filter { $0.kind == .to }.map(\.address),
            cc: email.recipients.filter { $0.kind == .cc }.map(\.address),
            headers: email.headers))
    }

    /// Whether `email` belongs to a case-creating account other than `account`, which then answers
    /// it (or rightly does not): `account`'s own auto-reply would make the answer depend on which
    /// mailbox was polled first.
    func ownedElsewhere(_ email: NewEmail, polledBy account: AccountID) -> Bool {
        owner(of: email).map { $0 != account } ?? false
    }
}
