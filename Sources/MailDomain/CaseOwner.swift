import MailCore

/// Which group account owns the case of a message that reached several mailboxes of one tenant (pure).
///
/// Every mailbox that receives a message holds its own copy, and the first poll to store the email
/// routes it. So that the answer does not depend on poll order, it is computed from what every copy
/// shares: the To and Cc headers, and envelope headers (`X-Original-To`, `Delivered-To`) only where
/// they name an alias, never a monitored mailbox (each copy's `Delivered-To` names its own mailbox).
public struct CaseOwner: Sendable {
    /// A mail account of the tenant as the rule sees it.
    public struct Account: Sendable, Equatable {
        public var id: AccountID
        /// The mailbox address (lowercase).
        public var address: String
        /// Addresses that deliver to this mailbox without being one (lowercase; group accounts only).
        public var aliases: [String]
        /// An active group account with Email-to-Case on: only these can own a case.
        public var createsCases: Bool
        /// Higher wins among addressed case-creating accounts (`case.priority`, default 0).
        public var priority: Int

        public init(id: AccountID, address: String, aliases: [String] = [], createsCases: Bool, priority: Int = 0) {
            self.id = id
            self.address = address.lowercased()
            self.aliases = aliases.map { $0.lowercased() }
            self.createsCases = createsCases
            self.priority = priority
        }
    }

    /// The addresses of a message that every copy carries alike, in the order the rule reads them.
    public struct Addressing: Sendable, Equatable {
        public var to: [String]
        public var cc: [String]
        /// Values of `X-Original-To` and `Delivered-To`, in header order.
        public var envelope: [String]

        public init(to: [String], cc: [String], envelope: [String]) {
            self.to = to.map { $0.lowercased() }
            self.cc = cc.map { $0.lowercased() }
            self.envelope = envelope.map { $0.lowercased() }
        }

        /// `to` and `cc` as parsed from the headers; `envelope` read from the top-level headers
        /// (any case), each value trimmed of whitespace and angle brackets (`<a@b>` and `a@b` alike).
        public init(to: [String], cc: [String], headers: [(name: String, value: String)]) {
            var envelope: [String] = []
            for (name, value) in headers {
                let key = name.lowercased()
                guard key == "x-original-to" || key == "delivered-to" else { continue }
                let address = Self.bareAddress(value)
                if !address.isEmpty { envelope.append(address) }
            }
            self.init(to: to, cc: cc, envelope: envelope)
        }

        static func bareAddress(_ value: String) -> String {
            // `Character.isWhitespace`: "\r\n" is one Character, which a comparison with "\r" misses.
            var text = Substring(value).drop(while: \.isWhitespace)
            while text.last?.isWhitespace == true { text = text.dropLast() }
            if text.first == "<", text.last == ">" { text = text.dropFirst().dropLast() }
            return text.lowercased()
        }
    }

    /// Case-creating accounts by address or alias, and by alias only (indexes into `accounts`).
    private let accounts: [Account]
    private let byAddress: [String: Int]
    private let byAlias: [String: Int]
    private let monitored: Set<String>

    /// `accounts`: all of the tenant's mail accounts, any kind (their addresses are the monitored
    /// mailboxes, which an envelope header never counts for).
    public init(accounts: [Account]) {
        var byAddress: [String: Int] = [:]
        var byAlias: [String: Int] = [:]
        let monitored = Set(accounts.map(\.address))
        for (i, account) in accounts.enumerated() where account.createsCases {
            if byAddress[account.address] == nil { byAddress[account.address] = i }
            for alias in account.aliases where !monitored.contains(alias) {
                if byAddress[alias] == nil { byAddress[alias] = i }
                if byAlias[alias] == nil { byAlias[alias] = i }
            }
        }
        self.accounts = accounts
        self.byAddress = byAddress
        self.byAlias = byAlias
        self.monitored = monitored
    }

    /// Whether any account can own a case at all (when not, `owner` is always nil).
    public var isEmpty: Bool { byAddress.isEmpty }

    /// The owner of a message's case, or nil when no case-creating account is addressed (Bcc,
    /// forwarding without a listed alias): the polling account then decides as for any other message.
    ///
    /// - An account is addressed when To or Cc names its address or one of its aliases, or when an
    ///   `X-Original-To` / `Delivered-To` value names one of its aliases; an envelope value naming a
    ///   monitored mailbox is ignored (each copy's names its own).
    /// - Among the addressed case-creating accounts, the highest `priority` wins; on a tie, the one
    ///   named first (To before Cc before the envelope headers, each in header order).
    public func owner(_ addressing: Addressing) -> AccountID? {
        var best: Int?
        func consider(_ index: Int?) {
            guard let index else { return }
            if best == nil || accounts[index].priority > accounts[best!].priority { best = index }
        }
        for address in addressing.to { consider(byAddress[address]) }
        for address in addressing.cc { consider(byAddress[address]) }
        for address in addressing.envelope where !monitored.contains(address) { consider(byAlias[address]) }
        return best.map { accounts[$0].id }
    }
}
