// swift-tools-version:6.1
import PackageDescription

// Layers (dependencies point down; C only at the edges):
//   mailroom (executable) → MailWorker, MailProvisioning, MailMetricsHTTP (Hummingbird: /metrics, /oauth/callback, /v1/events),
//                           swift-otel (the trace exporter, bootstrapped only here)
//   MailWorker → MailStore, MailTransport, MailMIME, MailDomain, MailCrypto, MailHTML; swift-metrics + swift-prometheus
//                (metrics), swift-distributed-tracing (spans)
//   MailStore → CLibPQ, MailDomain (value types), MailIO   MailTransport → CCurl, CTLS, MailProtocol, MailIO
//   MailMIME → CGMime             MailCrypto → CCrypto, MailIO  MailHTML → CLibXML2, MailDomain
//   MailIO: IOThread (the dedicated thread each blocking C handle runs on), OnceFile (secrets made once)
//   MailDomain, MailProtocol, MailCore: pure, no I/O
let package = Package(
    name: "Mailroom",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mailroom", targets: ["mailroom"]),
        .executable(name: "mailroom-bench", targets: ["mailroom-bench"]),
        .executable(name: "mailroom-chaos", targets: ["MailChaos"]),
        .executable(name: "mailroom-queue-bench", targets: ["MailQueueBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // Metrics through the swift-metrics API, exposed in the Prometheus format by swift-prometheus.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        // Spans through the swift-distributed-tracing API; exported by swift-otel over OTLP/HTTP only (the
        // gRPC exporter and its dependencies stay out of the build).
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.0.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // C edges
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CGMime", pkgConfig: "gmime-3.0", providers: [.apt(["libgmime-3.0-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libssl for the IMAP client's own TLS streams (SMTP keeps libcurl's TLS).
        .systemLibrary(name: "CTLS", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),

        // Pure layers
        .target(name: "MailCore"),
        // The one impure helper below the I/O layers: a dedicated thread per blocking C handle.
        .target(name: "MailIO"),
        .target(name: "MailProtocol", dependencies: ["MailCore"]),
        .target(name: "MailDomain", dependencies: ["MailCore"]),

        // I/O layers, each owning one C library
        .target(name: "MailMIME", dependencies: ["CGMime"]),
        .target(name: "MailTransport", dependencies: ["CCurl", "CTLS", "MailProtocol", "MailCore", "MailIO"]),
        .target(name: "MailStore", dependencies: [
            "CLibPQ", "MailCore", "MailIO", "MailDomain", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "MailCrypto", dependencies: ["CCrypto", "MailCore", "MailIO"]),
        // HTML sanitising on libxml2's HTML parser; the only module that imports libxml2.
        .target(name: "MailHTML", dependencies: ["CLibXML2", "MailDomain"]),

        // Composition
        .target(name: "MailProvisioning", dependencies: [
            "MailCore", "MailDomain", "MailStore", "MailCrypto", .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "MailWorker", dependencies: [
            "MailCore", "MailDomain", "MailStore", "MailProtocol", "MailTransport", "MailMIME", "MailCrypto", "MailHTML",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
        ]),
        // The one HTTP server, kept out of every other module: serves /metrics, /oauth/callback and /v1/events
        // (what a callback means is decided in MailWorker.OAuthCallback, an events request in MailWorker.EventsAPI).
        .target(name: "MailMetricsHTTP", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "mailroom", dependencies: [
            "MailCore", "MailDomain", "MailStore", "MailWorker", "MailProvisioning", "MailCrypto", "MailTransport",
            "MailMetricsHTTP", "MailHTML",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            // The trace exporter (OTLP/HTTP) is bootstrapped here and nowhere else.
            .product(name: "OTel", package: "swift-otel"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // Benchmarks against the real test servers (make bench-ingest)
        .executableTarget(name: "mailroom-bench", dependencies: [
            "MailTesting", "MailWorker", "MailProvisioning", "MailTransport", "MailProtocol", "MailStore", "MailCrypto", "MailMIME",
            "MailCore", "MailIO", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/MailBench"),
        // Benchmarks of the job queue and of polling at scale (`make bench-queue`)
        .executableTarget(name: "MailQueueBench", dependencies: [
            "MailCore", "MailStore", "MailWorker", "MailTesting", "MailCrypto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Test support: real Postgres and Dovecot fixtures
        .target(name: "MailTesting", dependencies: ["MailCore", "MailProtocol", "MailStore", "MailTransport", "MailCrypto", "MailProvisioning"]),
        // `make chaos`: replicas killed and servers restarted while mail arrives; checks exactly-once import.
        .executableTarget(name: "MailChaos", dependencies: [
            "MailIO", "MailTesting", "MailStore", "MailCrypto", "MailCore", "MailProvisioning",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Returns from `main` while threads hash through libcrypto (CryptoRuntimeTests).
        .executableTarget(name: "MailExitProbe", dependencies: ["MailCrypto"]),

        // libFuzzer targets (`make fuzz`, scripts/fuzz.sh): built with `-sanitize=fuzzer -D FUZZING` into
        // .build-fuzz; in a normal build each is a stub executable that says so.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(name: "FuzzIMAP", dependencies: ["MailProtocol", "CLibFuzzer"], path: "Fuzz/IMAP"),
        .executableTarget(name: "FuzzManifest", dependencies: ["MailProvisioning", "CLibFuzzer"], path: "Fuzz/Manifest"),
        .executableTarget(name: "FuzzMIME", dependencies: ["MailMIME", "CLibFuzzer"], path: "Fuzz/MIME"),

        .testTarget(name: "MailCoreTests", dependencies: ["MailCore"]),
        .testTarget(name: "MailIOTests", dependencies: ["MailIO", "MailTesting"]),
        .testTarget(name: "MailProtocolTests", dependencies: ["MailProtocol", "MailCore"], exclude: ["Transcripts"]),
        .testTarget(name: "MailDomainTests", dependencies: ["MailDomain", "MailCore"]),
        .testTarget(name: "MailMIMETests", dependencies: ["MailMIME"], exclude: ["Fixtures"]),
        .testTarget(name: "MailTransportTests", dependencies: ["MailTransport", "MailCore", "MailDomain", "MailProtocol", "MailTesting"]),
        .testTarget(name: "MailStoreTests", dependencies: ["MailStore", "MailCore", "MailTesting"]),
        .testTarget(name: "MailCryptoTests", dependencies: ["MailCrypto", "MailCore"]),
        .testTarget(name: "MailHTMLTests", dependencies: ["MailHTML", "MailDomain"], exclude: ["Fixtures"]),
        .testTarget(name: "MailProvisioningTests", dependencies: [
            "MailProvisioning", "MailCore", "MailCrypto", "MailDomain", "MailStore", "MailTesting",
        ]),
        .testTarget(name: "MailWorkerTests", dependencies: [
            "MailWorker", "MailTesting", "MailProvisioning", "MailMIME", "MailProtocol", "MailTransport", "MailCrypto", "MailStore",
            "MailDomain", "MailCore", .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], exclude: ["Fixtures"]),
    ]
)

// CI builds the project's own modules with warnings as errors (`make build-tests` sets the variable
// when CI is set); dependencies keep their own warnings.
if Context.environment["MAILROOM_WARNINGS_AS_ERRORS"] == "1" {
    for target in package.targets where target.type != .system {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-warnings-as-errors"])]
    }
}
