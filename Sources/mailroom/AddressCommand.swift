import ArgumentParser
import Foundation
import MailCore
import MailStore

/// `mailroom address …`: a tenant's view of a recipient address built from delivery reports
/// (docs/bounces.md): whether mail to it is refused, and an administrator's clearing of that mark.
struct AddressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "address",
        abstract: "Show or clear whether mail to an address is refused because it bounced.",
        subcommands: [Show.self, Clear.self])

    /// What both subcommands take: the tenant and the address.
    struct Target: ParsableArguments {
        @OptionGroup var global: GlobalOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Argument(help: "The address.") var address: String

        /// Runs `body` with the address in one transaction scoped to the tenant.
        func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, TenantID, String) throws -> T) async throws -> T {
            try global.bootstrapLogging()
            let address = self.address
            return try await APIKeyCommand.inTenant(global, tenant) { conn, t in try body(conn, t, address) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an address's bounce record.")

        @OptionGroup var target: Target

        func run() async throws {
            guard let h = try await target.run({ try AddressHealthQueries.addressHealthGet($0, tenant: $1, address: $2) }) else {
                print("\(target.address.lowercased()): no bounce recorded")
                return
            }
            let time = Date.ISO8601FormatStyle()
            var rows = [["address", "undeliverable since", "reason", "email", "soft bounces", "cleared", "cleared by"]]
            rows.append([h.address, h.undeliverableAt?.formatted(time) ?? "", h.reason ?? "", h.email.map { "\($0)" } ?? "",
                         String(h.softBounces), h.clearedAt?.formatted(time) ?? "", h.clearedBy ?? ""])
            print(TextTable.render(rows))
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear", abstract: "Clear an address's undeliverable mark (and its soft bounce count): mail to it is queued again.")

        @OptionGroup var target: Target

        func run() async throws {
            let wasMarked = try await target.run { try AddressHealthQueries.addressHealthClear($0, tenant: $1, address: $2) }
            let (address, tenant) = (target.address.lowercased(), target.tenant)
            print(wasMarked ? "cleared \(address) in tenant \(tenant)" : "\(address) was not marked undeliverable in tenant \(tenant)")
        }
    }
}
