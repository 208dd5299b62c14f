import ArgumentParser

/// Benchmarks that run against the real test servers (`scripts/testenv.sh up`, then `source .testenv/env`).
@main
struct MailBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom-bench",
        abstract: "Mailroom benchmarks against the local test PostgreSQL, Dovecot and Postfix.",
        subcommands: [IngestCommand.self, MemoryCommand.self, SendMemoryCommand.self, SendCommand.self, OAuthPollsCommand.self]
    )
}
