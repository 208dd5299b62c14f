import ArgumentParser
import MailCrypto

/// Benchmarks that run against the real test servers (`scripts/testenv.sh up`, then `source .testenv/env`).
struct MailBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom-bench",
        abstract: "Mailroom benchmarks against the local test PostgreSQL, Dovecot and Postfix.",
        subcommands: [IngestCommand.self, MemoryCommand.self, SendMemoryCommand.self, SendCommand.self, OAuthPollsCommand.self, WebhooksCommand.self]
    )
}

/// The entry point: libcrypto is set up before anything else touches it (`CryptoRuntime`).
@main
enum Main {
    static func main() async {
        CryptoRuntime.disableExitCleanup()
        await MailBench.main()
    }
}
