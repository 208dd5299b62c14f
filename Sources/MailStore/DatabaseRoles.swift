/// The names of the two roles that `mailroom migrate` grants access to (docs/security.md): the
/// workers' service role and the host CRM's role. The owner is whoever runs the migrations.
public struct DatabaseRoles: Sendable, Equatable {
    public let service: String
    public let crm: String

    public static let standard = DatabaseRoles(checkedService: "mailroom_service", crm: "mailroom_crm")

    /// Refuses anything but a plain lower-case identifier: the names are written into DDL.
    public init(service: String, crm: String) throws(PostgresError) {
        for (setting, name) in [("service role", service), ("CRM role", crm)] where !Self.isPlainIdentifier(name) {
            throw PostgresError(code: .invalidConfiguration,
                message: "\(setting) name must be a lower-case SQL identifier (a-z, 0-9, _; at most 63 characters)")
        }
        self.init(checkedService: service, crm: crm)
    }

    private init(checkedService: String, crm: String) {
        self.service = checkedService
        self.crm = crm
    }

    /// From `MAILROOM_SERVICE_ROLE` and `MAILROOM_CRM_ROLE`, each defaulting to the standard name.
    public static func fromEnvironment(_ environment: [String: String]) throws(PostgresError) -> DatabaseRoles {
        try DatabaseRoles(service: environment["MAILROOM_SERVICE_ROLE"] ?? standard.service,
                          crm: environment["MAILROOM_CRM_ROLE"] ?? standard.crm)
    }

    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) || first == UInt8(ascii: "_"),
              name.utf8.count <= 63 else { return false }
        return name.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }
}
