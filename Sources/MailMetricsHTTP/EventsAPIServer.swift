import Hummingbird
import Logging

/// Serves the HTTP pull API (`GET /v1/events`, docs/api.md) as a `Service` for the worker's
/// `ServiceGroup`: a server of its own, apart from `/metrics`, since the host CRM must reach it and
/// scrapers need not reach the events.
///
/// What a request means is decided by `handle` (the worker's `EventsAPI`); this module only speaks
/// HTTP. Neither the `Authorization` header nor the query is logged.
public struct EventsAPIServer: Sendable {
    public static let eventsPath = "/v1/events"

    public let host: String
    public let port: Int
    let handle: @Sendable (_ authorization: String?, _ query: [String: String]) async -> (status: Int, json: String)
    let logger: Logger

    /// - Parameters:
    ///   - host: address to bind (loopback behind a reverse proxy that terminates TLS).
    ///   - port: TCP port; 0 picks a free one (see `onBound`).
    ///   - handle: the status and JSON body for a request with this `Authorization` header and these
    ///     query parameters (the first of each name).
    public init(host: String = "127.0.0.1", port: Int, logger: Logger,
                handle: @escaping @Sendable (_ authorization: String?, _ query: [String: String]) async -> (status: Int, json: String)) {
        self.host = host
        self.port = port
        self.logger = logger
        self.handle = handle
    }

    public func application(onBound: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        let handle = self.handle
        router.get(RouterPath(stringLiteral: Self.eventsPath)) { request, _ -> Response in
            let query = HTTPServing.query(of: request)
            let (status, json) = await handle(request.headers[.authorization], query)
            var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
            // RFC 6750 §3: a 401 names the scheme it wants.
            if status == 401 { headers[.wwwAuthenticate] = "Bearer" }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        return HTTPServing.application(router: router, host: host, port: port, logger: logger, onBound: onBound)
    }
}
