import Foundation
import MailCore
import MailDomain
import MailMIME
import MailStore

/// The filters and filing rules of one account for one poll: read once when the poll starts, so a
/// filter changed in the database applies to the next poll, no restart.
///
/// The importer asks it three things: before a body is downloaded, whether the header block alone
/// skips the message (`skipsBeforeDownload`); after parsing, whether the message is skipped
/// (`skips`); and, inside the storing transaction right after the email rows are written, to file
/// the batch (`file`): group folders, user filters, and a personal account owner's team and Sent.
struct MailFiling: Sendable {
    let account: MailAccountRecord
    /// Global and account filters.
    let accountFilters: [EmailFilter]
    /// User filters by user.
    let userFilters: [UserID: [EmailFilter]]

    init(account: MailAccountRecord, filters: [EmailFilter]) {
        self.account = account
        accountFilters = filters.filter { $0.scope != .user }
        userFilters = Dictionary(grouping: filters.filter { $0.scope == .user && $0.userID != nil }, by: { $0.userID! })
    }

    /// Whether headers should be fetched before bodies: only when a header-only skip filter exists.
    var decidesBeforeDownload: Bool { FilterMatcher.hasHeaderOnlySkip(accountFilters) }

    /// The name of the filter that skips a message judged by its header block alone, if any.
    func skipsBeforeDownload(header bytes: [UInt8]) -> String? {
        guard let parsed = try? MIMEParser.parse(bytes) else { return nil }  // unparseable: let the full fetch decide
        let email = MessageMapper.newEmail(from: parsed, raw: bytes, realSize: bytes.count, internalDate: nil, headerOnlyNote: "")
        if case .skip(let name) = FilterMatcher.decideBeforeDownload(accountFilters, header: Self.message(email, hasBody: false)) {
            return name
        }
        return nil
    }

    /// The name of the filter that skips a parsed message, if any.
    func skips(_ email: NewEmail) -> String? {
        guard !accountFilters.isEmpty else { return nil }
        if case .skip(let name) = FilterMatcher.decide(accountFilters, Self.message(email)) { return name }
        return nil
    }

    /// Files emails just written for this account, in the storing transaction.
    func file(_ conn: PostgresConnection, folder: MailFolderRecord, stored: [(id: EmailID, email: NewEmail)]) throws {
        guard !stored.isEmpty else { return }
        let tenant = account.tenantID
        let needsMessage = !accountFilters.isEmpty || !userFilters.isEmpty
        let messages = needsMessage ? stored.map { Self.message($0.email) } : []
        if !accountFilters.isEmpty {
            var moves: [(EmailID, String)] = []
            for (i, s) in stored.enumerated() {
                if case .groupFolder(let f) = FilterMatcher.decide(accountFilters, messages[i]) { moves.append((s.id, f)) }
            }
            try EmailUserQueries.emailUserFileInGroupFolders(conn, tenant: tenant, account: account.id, moves)
        }
        if let owner = account.ownerUserID {
            try EmailUserQueries.emailUserFileForOwner(conn, tenant: tenant, owner: owner, target: folder.target, stored.map(\.id))
        }
        if !userFilters.isEmpty {
            var filings: [EmailUserQueries.UserFiling] = []
            for (i, s) in stored.enumerated() {
                for (user, filters) in userFilters {
                    let a = FilterMatcher.userActions(filters, messages[i])
                    if a.isEmpty { continue }
                    filings.append(.init(emailID: s.id, userID: user, trash: a.trash, folder: a.folder,
                                         markRead: a.markRead, noNotify: a.noNotify))
                }
            }
            try EmailUserQueries.emailUserApplyFilters(conn, tenant: tenant, filings)
        }
    }

    /// What filters see of a stored email.
    static func message(_ e: NewEmail, hasBody: Bool? = nil) -> FilterMessage {
        FilterMessage(from: e.recipients.filter { $0.kind == .from }.map(\.address),
                      toOrCc: e.recipients.filter { $0.kind == .to || $0.kind == .cc }.map(\.address),
                      subject: e.subject, headers: e.headers, bodyText: e.bodyText, bodyHTML: e.bodyHTML,
                      hasBody: hasBody ?? !e.isHeaderOnly)
    }
}
