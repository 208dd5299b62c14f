import Hummingbird
import Logging

/// Serves `GET /metrics` in the Prometheus text exposition format 0.0.4, as a `Service` for the
/// worker's `ServiceGroup` (it stops with the group on graceful shutdown).
///
/// The body comes from `render`, called on every scrape (the worker passes its Prometheus registry's
/// exposition, `WorkerMetrics.render`); this module knows nothing about what is measured, so it is
/// the only one that depends on the HTTP server stack.
public struct MetricsServer: Sendable {
    /// `Content-Type` of the Prometheus text format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public let host: String
    public let port: Int
    let render: @Sendable () -> String
    let logger: Logger

    /// - Parameters:
    ///   - host: address to bind; keep it on loopback unless a scraper must reach it from elsewhere.
    ///   - port: TCP port; 0 picks a free one (see `onBound`).
    public init(host: String = "127.0.0.1", port: Int, logger: Logger, render: @escaping @Sendable () -> String) {
        self.host = host
        self.port = port
        self.logger = logger
        self.render = render
    }

    /// The HTTP application; Hummingbird's `Application` is itself a `Service`.
    /// - Parameter onBound: called with the port actually bound once the server listens.
    public func application(onBound: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        let render = self.render
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: Self.contentType],
                     body: .init(byteBuffer: ByteBuffer(string: render())))
        }
        return HTTPServing.application(router: router, host: host, port: port, logger: logger, onBound: onBound)
    }
}
