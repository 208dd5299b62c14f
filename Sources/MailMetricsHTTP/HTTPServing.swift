import Hummingbird
import Logging

/// What the servers of this module share: how they bind and how they read a query.
enum HTTPServing {
    /// The Hummingbird application of `router` on `host:port`; `onBound` gets the port actually bound
    /// (0 picks a free one) once the server listens.
    static func application(router: Router<BasicRequestContext>, host: String, port: Int, logger: Logger,
                            onBound: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "mailroom"),
                    onServerRunning: { channel in await onBound(channel.localAddress?.port ?? 0) },
                    logger: logger)
    }

    /// The request's query parameters, the first value of each name.
    static func query(of request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters where query[String(name)] == nil {
            query[String(name)] = String(value)
        }
        return query
    }
}
