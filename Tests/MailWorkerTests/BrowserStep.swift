import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One step of a browser through an OAuth login, with URLSession: a GET whose redirect is returned,
/// not followed, so a test sees each hop (the provider's 302 to the callback, the callback's 303).
enum BrowserStep {
    struct Answer: Sendable {
        var status: Int
        var location: String?
        var body: String
    }

    private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    static func get(_ url: String) async throws -> Answer {
        guard let target = URL(string: url) else { throw LoopbackHTTP.Failure("not a URL: \(url)") }
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: target) { data, response, error in
                if let error { return continuation.resume(throwing: error) }
                guard let http = response as? HTTPURLResponse else {
                    return continuation.resume(throwing: LoopbackHTTP.Failure("no HTTP response from \(target.host ?? "?")"))
                }
                continuation.resume(returning: Answer(status: http.statusCode, location: http.value(forHTTPHeaderField: "Location"),
                                                      body: String(decoding: data ?? Data(), as: UTF8.self)))
            }.resume()
        }
    }

    /// The query parameters of `url`.
    static func query(_ url: String) -> [String: String] {
        var out: [String: String] = [:]
        for item in URLComponents(string: url)?.queryItems ?? [] where out[item.name] == nil { out[item.name] = item.value ?? "" }
        return out
    }
}
