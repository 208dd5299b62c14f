extension Manifest {
    /// CRM records seeded with the tenant; incoming mail links to them by address.
    public struct Records: Sendable, Equatable {
        public var accounts: [Account]
        public var contacts: [Contact]
        public var leads: [Lead]
        public var opportunities: [Opportunity]

        public init(
            accounts: [Account] = [], contacts: [Contact] = [], leads: [Lead] = [], opportunities: [Opportunity] = []
        ) {
            self.accounts = accounts
            self.contacts = contacts
            self.leads = leads
            self.opportunities = opportunities
        }
    }

    /// A company (EspoCRM "Account"; unrelated to email accounts).
    public struct Account: Sendable, Equatable {
        public var name: String
        public var emails: [EmailAddress]

        public init(name: String, emails: [EmailAddress] = []) {
            self.name = name
            self.emails = emails
        }
    }

    /// A person, optionally working for an account (by account name).
    public struct Contact: Sendable, Equatable {
        public var name: String
        public var emails: [EmailAddress]
        public var account: String?

        public init(name: String, emails: [EmailAddress] = [], account: String? = nil) {
            self.name = name
            self.emails = emails
            self.account = account
        }
    }

    /// A prospect not yet converted to a contact.
    public struct Lead: Sendable, Equatable {
        public var name: String
        public var emails: [EmailAddress]

        public init(name: String, emails: [EmailAddress] = []) {
            self.name = name
            self.emails = emails
        }
    }

    /// A sales opportunity with an account and, optionally, contacts (by name).
    public struct Opportunity: Sendable, Equatable {
        public var name: String
        public var account: String
        public var contacts: [String]

        public init(name: String, account: String, contacts: [String] = []) {
            self.name = name
            self.account = account
            self.contacts = contacts
        }
    }
}
