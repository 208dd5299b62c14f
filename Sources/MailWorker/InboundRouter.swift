import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailStore

/// Everything that happens to newly imported emails besides storing them: linking to a CRM record,
/// Email-to-Case (join, create, reopen), distribution, the assignee's inbox, follows, streams and,
/// last, notifications.
///
/// Runs inside the import transaction of the batch that stored the emails (called from
/// `FolderImporter` only for emails that were new), so a crash loses none of it and a re-import,
/// which finds the emails already stored, repeats none of it. Emails are routed in the order given,
/// so a reply stored in the same batch as its original threads to it.
struct InboundRouter: Sendable {
    let settings: ImportSettings
    let logger: Logger
    var breaker: StormBreaker { StormBreaker(logger: logger) }

    /// Routes emails that `account` just stored for the first time; returns those that got a parent
    /// record, for `notify` (which the caller runs after per-user filters have been applied). Delivery
    /// reports are not routed: the caller gives only emails `DeliveryReportIntake` turned down.
    ///
    /// An email addressed to case-creating accounts is routed under the rules of its `owners` choice
    /// (team, distribution, auto-reply from that account), whichever mailbox stored it first;
    /// other emails under `account`'s.
    @discardableResult
    func route(_ conn: PostgresConnection, tenant: TenantID, account: MailAccountRecord,
               emails: [(id: EmailID, email: NewEmail)], owners: CaseOwner) throws -> [EmailID] {
        guard !emails.isEmpty else { return [] }
        let tenantSettings = try TenantQueries.tenantCaseSettings(conn, tenant: tenant)
        var contexts: [AccountID: Context] = [:]
        func context(_ account: MailAccountRecord) throws -> Context {
            if let known = contexts[account.id] { return known }
            let made = Context(
                tenant: tenant, account: account, tenantSettings: tenantSettings,
                rules: account.kind == .group ? try MailAccountQueries.mailAccountCaseRules(conn, tenant: tenant, id: account.id) : nil,
                signer: settings.recordTokenSigner(for: tenant))
            contexts[account.id] = made
            return made
        }
        func context(of email: NewEmail) throws -> Context {
            guard let owner = owners.owner(of: email), owner != account.id,
                  let record = try contexts[owner]?.account ?? MailAccountQueries.mailAccountGet(conn, tenant: tenant, id: owner)
            else { return try context(account) }
            return try context(record)
        }
        // What every email of the batch needs to read, in two statements instead of two per email.
        var batch = Batch(
            parents: try EmailQueries.emailParentsByMessageID(conn, tenant: tenant, messageIDs: Array(Set(emails.flatMap {
                RecordLinker.threadOrder(inReplyTo: $0.email.inReplyTo, references: $0.email.references)
            }))),
            owners: Dictionary(grouping: try AddressOwnerQueries.addressOwnerRecords(
                conn, tenant: tenant, addresses: Array(Set(emails.flatMap { Self.linkAddresses($0.email).all }))), by: \.address))
        var linked: [EmailID] = []
        for (id, email) in emails where try routeOne(conn, try context(of: email), id: id, email: email, batch: &batch) {
            linked.append(id)
        }
        try EmailQueries.emailLinkMany(conn, tenant: tenant, batch.links)
        return linked
    }

    /// Lookups shared by a batch, and its plain links written together at the end.
    struct Batch {
        /// Parents of held emails by Message-ID; each routed email adds its own, so a reply later in
        /// the same batch threads to it.
        var parents: [String: RecordRef]
        var owners: [String: [AddressOwner]]
        /// Links to records other than cases (cases are written at once: they touch the case too).
        var links: [(email: EmailID, parent: RecordRef)] = []
    }

    /// The addresses linking looks at: From, the first Reply-To, the first To (lowercased).
    static func linkAddresses(_ email: NewEmail) -> (from: String?, replyTo: String?, to: String?, all: [String]) {
        let from = email.from?.address.lowercased()
        let replyTo = email.recipients.first { $0.kind == .replyTo }?.address.lowercased()
        let to = email.recipients.first { $0.kind == .to }?.address.lowercased()
        return (from, replyTo, to, [from, replyTo, to].compactMap { $0 })
    }

    /// Notifies followers of the emails' records (see `NotificationQueries.notificationCreateForEmails`).
    /// Runs last, so that every follow made by `route` (a new case's assignee) counts and per-user
    /// "don't notify" filters have marked their users' copies.
    func notify(_ conn: PostgresConnection, tenant: TenantID, emails: [EmailID]) throws {
        try NotificationQueries.notificationCreateForEmails(conn, tenant: tenant, emails: emails)
    }

    struct Context {
        var tenant: TenantID
        var account: MailAccountRecord
        var tenantSettings: TenantCaseSettings
        var rules: CaseRules?
        var signer: RecordTokenSigner?
    }

    /// Links one email; returns whether it got a parent record.
    private func routeOne(_ conn: PostgresConnection, _ c: Context, id: EmailID, email: NewEmail, batch: inout Batch) throws -> Bool {
        let tenant = c.tenant
        let threadIDs = RecordLinker.threadOrder(inReplyTo: email.inReplyTo, references: email.references)
        // Rule 1: our own signed token; a verified token naming a record that no longer exists is skipped.
        var token: RecordRef?
        if let signer = c.signer {
            for messageID in threadIDs {
                guard let v = signer.verify(messageID) else { continue }
                let ref = RecordRef(v.type, v.id)
                if try RecordQueries.recordAccount(conn, tenant: tenant, ref).exists { token = ref; break }
            }
        }
        // Rule 2: the parent of a held email of the thread, most specific header first.
        var threadParent: RecordRef?
        if token == nil {
            let known = batch.parents
            threadParent = threadIDs.lazy.compactMap { known[$0] }.first
        }
        let (from, replyTo, to, addresses) = Self.linkAddresses(email)
        let owners = Set(addresses).flatMap { batch.owners[$0] ?? [] }
        let link = RecordLinker.decide(.init(token: token, threadParent: threadParent, from: from, replyTo: replyTo, to: to,
                                             owners: owners, businessToConsumer: c.tenantSettings.businessToConsumer))

        // The input form also sees report parts (the headers lack Content-Type). Delivery reports never
        // get here (`DeliveryReportIntake` took them), so the recognizer is not run a second time.
        let automatic = AutomaticMail.reason(notAReport: DeliveryReportInput(email)) != nil
        var tagged: CaseRouting.TaggedCase?
        if let rules = c.rules, rules.create, link?.source.isThread != true,
           let number = CaseNumberTag.parse(email.subject),
           let tagCase = try CaseQueries.caseGetByNumber(conn, tenant: tenant, number: number) {
            let related = try from.map { try CaseQueries.caseIsRelated(conn, tenant: tenant, id: tagCase.id, address: $0) } ?? false
            tagged = .init(caseID: tagCase.id, senderRelated: related)
        }
        var action = CaseRouting.decide(link: link, tagged: tagged, trustAnySender: c.rules?.numberTrust == "any",
                                        isAutomatic: automatic, createsCases: c.rules?.create ?? false)
        if let rules = c.rules, let sender = from, let slot = CaseRouting.breakerSlot(for: action, sender: sender) {
            action = CaseRouting.limited(action, by: try breaker.take(conn, tenant: tenant, account: c.account, rules: rules,
                                                                      sender: sender, slot: slot, email: id))
        }
        let parent: RecordRef
        switch action {
        case .linkOnly:
            guard let record = link?.record else { return false }
            parent = record
        case .join(let caseID):
            parent = RecordRef(.supportCase, caseID)
        case .create:
            parent = RecordRef(.supportCase, try createCase(conn, c, id: id, email: email, from: from, owners: owners))
        }

        batch.parents[email.messageID] = parent
        guard parent.type == .supportCase else {
            batch.links.append((id, parent))  // written with the batch's other plain links
            return true
        }
        let account = try RecordQueries.recordAccount(conn, tenant: tenant, parent).account
        try EmailQueries.emailSetParent(conn, tenant: tenant, email: id, parent: parent, crmAccount: account)
        try StreamQueries.streamAdd(conn, tenant: tenant, record: parent, kind: .emailReceived, email: id)
        if let supportCase = try CaseQueries.caseGet(conn, tenant: tenant, id: parent.id) {
            try CaseQueries.caseTouch(conn, tenant: tenant, id: supportCase.id)
            if case .join = action, let rules = c.rules {
                let senderIsUser = try from.map { !(try AddressOwnerQueries.addressOwnerUsers(conn, tenant: tenant, address: $0).isEmpty) } ?? false
                if CaseRouting.reopens(status: supportCase.status, closedStatuses: c.tenantSettings.closedCaseStatuses,
                                       reopenEnabled: rules.reopenEnabled, isAutomatic: automatic, senderIsUser: senderIsUser),
                   try from.map({ try breaker.take(conn, tenant: tenant, account: c.account, rules: rules, sender: $0,
                                                   slot: .reopen, email: id).allows }) ?? true {
                    try CaseQueries.caseSetStatus(conn, tenant: tenant, id: supportCase.id, status: rules.reopenStatus)
                    try StreamQueries.streamAdd(conn, tenant: tenant, record: parent, kind: .reopened, email: id,
                                                data: ["from": supportCase.status, "to": rules.reopenStatus])
                }
            }
            if let assignee = supportCase.assignedUserID {
                try EmailQueries.emailDeliverToUser(conn, tenant: tenant, email: id, user: assignee)
            }
        }
        return true
    }

    /// Opens a case for the first email of a thread and assigns it; returns the case id.
    private func createCase(_ conn: PostgresConnection, _ c: Context, id: EmailID, email: NewEmail, from: String?,
                            owners: [AddressOwner]) throws -> Int64 {
        let tenant = c.tenant
        let rules = c.rules!
        let assignee = try distribute(conn, c, rules: rules)
        let sender = RecordLinker.senderRecords(from, owners: owners)
        let subject = email.subject?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let description = email.bodyText ?? email.bodyHTML.map(PlainText.fromHTML)
        // The case number is allocated here, after `distribute` took the pointer lock: numbers follow
        // assignment order across replicas.
        let created = try CaseQueries.caseCreate(conn, tenant: tenant, .init(
            name: subject.isEmpty ? "(no subject)" : subject, description: description,
            status: assignee == nil ? "New" : "Assigned", teamID: rules.teamID, assignedUserID: assignee,
            contactID: sender.contact, accountID: sender.account, leadID: sender.lead, sourceAccountID: c.account.id))
        let ref = RecordRef(.supportCase, created.id)
        try StreamQueries.streamAdd(conn, tenant: tenant, record: ref, kind: .caseCreated, email: id,
                                    data: ["number": String(created.number)])
        if let assignee {
            try StreamQueries.streamAdd(conn, tenant: tenant, record: ref, kind: .assigned, data: ["user_id": assignee.description])
            try FollowQueries.followAdd(conn, tenant: tenant, user: assignee, record: ref)
        } else {
            logger.warning("no eligible user: case left unassigned", metadata: [
                "case_number": "\(created.number)", "distribution": "\(rules.distribution.rawValue)", "email_id": "\(id)"])
        }
        let caseName = subject.isEmpty ? "(no subject)" : subject
        try AutoReplier.enqueueIfAllowed(conn, tenant: tenant, account: c.account, emailID: id, email: email,
                                         caseRef: (created.number, caseName), signer: c.signer, caseID: created.id)
        return created.id
    }

    /// The assignee of a new case under the account's distribution, or nil when no one is eligible.
    /// Round robin and less busy lock the (account, team) pointer first; see `pointerLock`.
    private func distribute(_ conn: PostgresConnection, _ c: Context, rules: CaseRules) throws -> UserID? {
        let tenant = c.tenant
        func activeFallback() throws -> UserID? {
            guard let user = rules.assignUserID else { return nil }
            return try CaseDistributionPointerQueries.pointerUserIsActive(conn, tenant: tenant, user: user) ? user : nil
        }
        let mode = rules.distribution
        guard mode != .direct, let team = rules.teamID else { return try activeFallback() }
        let last = try CaseDistributionPointerQueries.pointerLock(conn, tenant: tenant, account: c.account.id, team: team)
        let eligible = try CaseDistributionPointerQueries.pointerCandidates(conn, tenant: tenant, team: team, position: rules.position)
            .map { CaseDistribution.Candidate($0.user, openCases: $0.openCases) }
        guard let chosen = CaseDistribution.choose(mode, eligible: eligible, last: last, directUser: nil) else {
            return try activeFallback()
        }
        try CaseDistributionPointerQueries.pointerSet(conn, tenant: tenant, account: c.account.id, team: team, user: chosen)
        return chosen
    }
}
