import ArgumentParser
import MailCrypto

/// Benchmarks of Mailroom's job queue and of polling at scale. Needs the test servers
/// (`scripts/testenv.sh up`, then source its env file); `make bench-queue` does all of it.
struct MailQueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom-queue-bench",
        abstract: "Queue throughput and poll lag benchmarks against the test servers.",
        subcommands: [QueueCommand.self, QueueEmailCommand.self, PollsCommand.self, PgbenchScriptCommand.self])
}

/// The entry point: libcrypto is set up before anything else touches it (`CryptoRuntime`).
@main
enum Main {
    static func main() async {
        CryptoRuntime.disableExitCleanup()
        await MailQueueBench.main()
    }
}
