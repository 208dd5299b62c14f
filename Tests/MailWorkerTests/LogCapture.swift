import Logging
import Synchronization

/// Keeps every record logged through `logger`, with the handler's metadata merged under the call's:
/// what a log shipper would see, for tests that check log lines' metadata.
final class LogCapture: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata

        /// The metadata value of `key` as text, nil when absent.
        subscript(_ key: String) -> String? { metadata[key].map { "\($0)" } }
    }

    private let records = Mutex<[Record]>([])

    var all: [Record] { records.withLock { $0 } }

    /// A logger at `trace` level whose records land here.
    var logger: Logger { Logger(label: "test.capture") { _ in Handler(capture: self) } }

    fileprivate func append(_ record: Record) { records.withLock { $0.append(record) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append(Record(level: event.level, message: "\(event.message)",
                                  metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
        }
    }
}
