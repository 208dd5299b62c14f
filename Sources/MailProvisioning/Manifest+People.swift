extension Manifest {
    /// A team; users belong to it in one of its positions (EspoCRM "team position", e.g. agent or lead).
    public struct Team: Sendable, Equatable {
        public var name: String
        /// Position names users of this team may hold; case distribution can be limited to one.
        public var positions: [String]

        public init(name: String, positions: [String] = []) {
            self.name = name
            self.positions = positions
        }
    }

    /// Which group email accounts a role's users may read and send from.
    public enum GroupEmailAccountPermission: String, Sendable, Equatable, CaseIterable {
        /// None.
        case no
        /// Group accounts linked to one of the user's teams.
        case team
        /// Every group account of the tenant.
        case all
    }

    /// A role: a named set of permissions granted to users.
    public struct Role: Sendable, Equatable {
        public var name: String
        public var groupEmailAccountPermission: GroupEmailAccountPermission

        public init(name: String, groupEmailAccountPermission: GroupEmailAccountPermission = .no) {
            self.name = name
            self.groupEmailAccountPermission = groupEmailAccountPermission
        }
    }

    /// A user's membership of a team, with an optional position of that team.
    public struct Membership: Sendable, Equatable {
        public var team: String
        public var position: String?

        public init(team: String, position: String? = nil) {
            self.team = team
            self.position = position
        }
    }

    /// A user of the tenant.
    public struct User: Sendable, Equatable {
        /// Login name: lowercase letters, digits, `.`, `_`, `-`; unique in the tenant.
        public var username: String
        public var name: String
        /// Addresses of the user; the first is primary. Unique across users and group accounts.
        public var emails: [EmailAddress]
        /// Inactive users keep their data but receive no assignments and cannot log in.
        public var active: Bool
        /// Administrators bypass role permissions.
        public var admin: Bool
        public var teams: [Membership]
        /// Role names.
        public var roles: [String]

        public init(
            username: String, name: String, emails: [EmailAddress] = [], active: Bool = true, admin: Bool = false,
            teams: [Membership] = [], roles: [String] = []
        ) {
            self.username = username
            self.name = name
            self.emails = emails
            self.active = active
            self.admin = admin
            self.teams = teams
            self.roles = roles
        }

        public var primaryEmail: EmailAddress? { emails.first }

        /// The user's membership of `team`, if any.
        public func membership(in team: String) -> Membership? { teams.first { $0.team == team } }
    }
}
