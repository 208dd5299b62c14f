import Foundation
import MailCore

/// Which rule linked an email to its record.
public enum LinkSource: String, Sendable, Equatable {
    /// Rule 1: a signed record token in a Message-ID named by In-Reply-To or References.
    case token
    /// Rule 2: the parent of an email we hold that In-Reply-To (or References) names.
    case thread
    /// Rules 3–4: the owner of the From, first Reply-To or first To address.
    case from, replyTo, to

    /// Token and thread links continue an existing conversation.
    public var isThread: Bool { self == .token || self == .thread }
}

public struct LinkDecision: Sendable, Equatable {
    public var record: RecordRef
    public var source: LinkSource
    public init(_ record: RecordRef, _ source: LinkSource) {
        self.record = record
        self.source = source
    }
}

/// Links an imported email to its CRM record (pure; the worker looks up the candidates).
///
/// Order: (1) a verified record token, (2) the parent of a held email named by the thread headers,
/// (3) the From address, (4) the first Reply-To, then the first To address. For an address: a contact
/// → the contact's account (or the contact itself for business-to-consumer tenants or a contact
/// without account); else an account; else a lead. When several records of one kind share an
/// address, `preferred(_:)` picks one deterministically. Opportunities are reached only through threads.
public enum RecordLinker {
    public struct Input: Sendable {
        /// The first verified token (thread headers in `threadOrder`) that names an existing record.
        public var token: RecordRef?
        /// The first held email with a parent, in `threadOrder`.
        public var threadParent: RecordRef?
        public var from: String?
        public var replyTo: String?
        public var to: String?
        /// Owners of any of the addresses above.
        public var owners: [AddressOwner]
        public var businessToConsumer: Bool

        public init(token: RecordRef? = nil, threadParent: RecordRef? = nil, from: String? = nil, replyTo: String? = nil,
                    to: String? = nil, owners: [AddressOwner] = [], businessToConsumer: Bool = false) {
            self.token = token
            self.threadParent = threadParent
            self.from = from
            self.replyTo = replyTo
            self.to = to
            self.owners = owners
            self.businessToConsumer = businessToConsumer
        }
    }

    public static func decide(_ input: Input) -> LinkDecision? {
        if let token = input.token { return LinkDecision(token, .token) }
        if let parent = input.threadParent { return LinkDecision(parent, .thread) }
        let addresses: [(String?, LinkSource)] = [(input.from, .from), (input.replyTo, .replyTo), (input.to, .to)]
        for (address, source) in addresses {
            guard let address else { continue }
            if let record = record(for: address, owners: input.owners, businessToConsumer: input.businessToConsumer) {
                return LinkDecision(record, source)
            }
        }
        return nil
    }

    /// The record an address links to (rule 3), or nil when no contact, account or lead has it.
    public static func record(for address: String, owners: [AddressOwner], businessToConsumer: Bool) -> RecordRef? {
        guard let owner = preferred(owners.filter { $0.address == address.lowercased() }) else { return nil }
        if owner.type == .contact, !businessToConsumer, let account = owner.contactAccountID {
            return RecordRef(.account, account)
        }
        return RecordRef(owner.type, owner.id)
    }

    /// The sender's contact, account and lead for a new case: the preferred owner of the address, with a
    /// contact's account filled in.
    public static func senderRecords(_ address: String?, owners: [AddressOwner]) -> (contact: Int64?, account: Int64?, lead: Int64?) {
        guard let address, let owner = preferred(owners.filter { $0.address == address.lowercased() }) else { return (nil, nil, nil) }
        switch owner.type {
        case .contact: return (owner.id, owner.contactAccountID, nil)
        case .account: return (nil, owner.id, nil)
        case .lead: return (nil, nil, owner.id)
        default: return (nil, nil, nil)
        }
    }

    /// The deterministic choice among owners of one address: contacts before accounts before leads;
    /// within a kind, the owner for whom the address is primary, then the lowest position of the
    /// address in the owner's list, then the lowest id (the oldest record).
    public static func preferred(_ owners: [AddressOwner]) -> AddressOwner? {
        func rank(_ t: RecordType) -> Int { t == .contact ? 0 : t == .account ? 1 : t == .lead ? 2 : 3 }
        return owners.filter { rank($0.type) < 3 }.min { a, b in
            (rank(a.type), a.isPrimary ? 0 : 1, a.position, a.id) < (rank(b.type), b.isPrimary ? 0 : 1, b.position, b.id)
        }
    }

    /// Message-IDs named by the thread headers, most specific first: In-Reply-To, then References from
    /// the newest (last) to the oldest, without duplicates or angle brackets.
    public static func threadOrder(inReplyTo: String?, references: [String]) -> [String] {
        var out: [String] = []
        for raw in [inReplyTo].compactMap({ $0 }) + references.reversed() {
            var id = Substring(raw.trimmingCharacters(in: .whitespaces))
            if id.hasPrefix("<"), id.hasSuffix(">") { id = id.dropFirst().dropLast() }
            if !id.isEmpty, !out.contains(String(id)) { out.append(String(id)) }
        }
        return out
    }
}
