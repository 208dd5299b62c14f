import ArgumentParser
import MailCrypto

/// The entry point: libcrypto is set up before anything else touches it (`CryptoRuntime`).
@main
enum Main {
    static func main() async {
        CryptoRuntime.disableExitCleanup()
        await Mailroom.main()
    }
}

struct Mailroom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom",
        abstract: "Multi-tenant email service: imports IMAP mailboxes into PostgreSQL.",
        subcommands: [MigrateCommand.self, ApplyCommand.self, WorkerCommand.self, PollCommand.self, SendCommand.self, AddressCommand.self, StatusCommand.self, ExportCommand.self, DatabaseCommand.self, SecretsCommand.self, OAuthCommand.self, APIKeyCommand.self, EventsCommand.self]
    )
}
