import Hummingbird
import Logging

/// Serves `GET /oauth/callback`, where an OAuth provider sends the browser back after a login begun in
/// the CRM (docs/oauth.md), as a `Service` for the worker's `ServiceGroup`. A server of its own, apart
/// from `/metrics`: the callback must be reachable by browsers (through the operator's TLS proxy),
/// metrics rarely should.
///
/// What a request means is decided by `handle` (the worker's `OAuthCallback`); this module only speaks
/// HTTP. The request's query is never logged: it carries the authorization code.
public struct OAuthCallbackServer: Sendable {
    /// What to answer: a status, an optional `Location` (for 303) and an HTML body.
    public struct Page: Sendable {
        public var status: Int
        public var location: String?
        public var html: String
        public init(status: Int, location: String?, html: String) {
            self.status = status
            self.location = location
            self.html = html
        }
    }

    public static let path = "/oauth/callback"

    public let host: String
    public let port: Int
    let handle: @Sendable ([String: String]) async -> Page
    let logger: Logger

    /// - Parameters:
    ///   - host: address to bind (loopback behind a reverse proxy that terminates TLS).
    ///   - port: TCP port; 0 picks a free one (see `onBound`).
    ///   - handle: the answer to a callback with these query parameters (the first of each name).
    public init(host: String = "127.0.0.1", port: Int, logger: Logger, handle: @escaping @Sendable ([String: String]) async -> Page) {
        self.host = host
        self.port = port
        self.logger = logger
        self.handle = handle
    }

    public func application(onBound: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        let handle = self.handle
        router.get(RouterPath(stringLiteral: Self.path)) { request, _ -> Response in
            let query = HTTPServing.query(of: request)
            let page = await handle(query)
            var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                                       .init("Referrer-Policy")!: "no-referrer"]
            if let location = page.location { headers[.location] = location }
            return Response(status: .init(code: page.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: page.html)))
        }
        return HTTPServing.application(router: router, host: host, port: port, logger: logger, onBound: onBound)
    }
}
