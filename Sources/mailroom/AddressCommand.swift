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

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an address's bounce record.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Argument(help: "The address.") var address: String

        func run() async throws {
            try global.bootstrapLogging()
            let address = self.address
            let health = try await APIKeyCommand.inTenant(global, tenant) { conn, t in
                try AddressHealthQueries.addressHealthGet(conn, tenant: t, address: address)
            }
            guard let h = health else {
                print("\(address.lowercased()): no bounce recorded")
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

        @OptionGroup var global: GlobalOptions
        @Option(help: "Tenant slug.") var tenant: String
        @Argument(help: "The address.") var address: String

        func run() async throws {
            try global.bootstrapLogging()
            let address = self.address
            let wasMarked = try await APIKeyCommand.inTenant(global, tenant) { conn, t in
                try AddressHealthQueries.addressHealthClear(conn, tenant: t, address: address)
            }
            print(wasMarked ? "cleared \(address.lowercased()) in tenant \(tenant)"
                            : "\(address.lowercased()) was not marked undeliverable in tenant \(tenant)")
        }
    }
}
