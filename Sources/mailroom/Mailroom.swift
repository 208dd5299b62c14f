import ArgumentParser

@main
struct Mailroom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom",
        abstract: "Multi-tenant email service: imports IMAP mailboxes into PostgreSQL.",
        subcommands: [MigrateCommand.self, ApplyCommand.self, WorkerCommand.self, PollCommand.self, SendCommand.self, StatusCommand.self, ExportCommand.self, DatabaseCommand.self, SecretsCommand.self, OAuthCommand.self]
    )
}
