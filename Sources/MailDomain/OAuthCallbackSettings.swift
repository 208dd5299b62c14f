import Foundation

/// The settings of the worker's `/oauth/callback` (docs/oauth.md), read from the environment at start.
/// Missing or malformed is an error, never a default: a wrong public URL breaks every login, and a
/// loose return URL list would let anyone send a browser anywhere after a login.
public struct OAuthCallbackSettings: Sendable, Equatable {
    /// `https://mail.example.com` (no path): the redirect URI is this plus `/oauth/callback`.
    public var publicBaseURL: String
    /// A return URL must start with one of these; each names a path after its host
    /// (`https://crm.example.com/`), so a prefix never matches another host.
    public var returnURLPrefixes: [String]

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public var redirectURI: String { publicBaseURL + "/oauth/callback" }

    /// From `MAILROOM_PUBLIC_URL` and `MAILROOM_OAUTH_RETURN_URLS` (comma-separated prefixes).
    public static func parse(publicURL: String?, returnURLs: String?) throws(Invalid) -> OAuthCallbackSettings {
        guard let publicURL, !publicURL.isEmpty else {
            throw Invalid(description: "MAILROOM_PUBLIC_URL is not set: the callback needs the URL browsers reach it at (https://host[:port])")
        }
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        guard base.wholeMatch(of: /https?:\/\/[A-Za-z0-9.\-\[\]:]+/) != nil else {
            throw Invalid(description: "MAILROOM_PUBLIC_URL must be http(s)://host[:port] without a path, query or fragment")
        }
        guard let returnURLs, !returnURLs.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Invalid(description: "MAILROOM_OAUTH_RETURN_URLS is not set: list the URL prefixes a login may return to, comma-separated")
        }
        var prefixes: [String] = []
        for (index, raw) in returnURLs.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let prefix = raw.trimmingCharacters(in: .whitespaces)
            guard prefix.wholeMatch(of: /https?:\/\/[A-Za-z0-9.\-\[\]:]+\/[^\s#]*/) != nil else {
                throw Invalid(description: "MAILROOM_OAUTH_RETURN_URLS entry \(index + 1) is not an http(s) URL prefix with a path (https://crm.example.com/…)")
            }
            prefixes.append(prefix)
        }
        return OAuthCallbackSettings(publicBaseURL: base, returnURLPrefixes: prefixes)
    }

    /// True when the browser may be sent to `url` after a login.
    public func allowsReturn(to url: String) -> Bool {
        returnURLPrefixes.contains { url.hasPrefix($0) }
    }
}
