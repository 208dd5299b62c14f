import Foundation

/// The device authorization grant (RFC 8628) in pure code: what the device authorization endpoint
/// answered, and what each token endpoint answer means for the polling.
public enum DeviceAuthorization {
    /// RFC 8628 §3.2.
    public struct Start: Sendable, Equatable {
        public var deviceCode: String
        public var userCode: String
        public var verificationURI: String
        public var verificationURIComplete: String?
        public var expiresIn: Int
        /// Seconds between polls; 5 when the server gave none (§3.2).
        public var interval: Int
    }

    /// The device authorization endpoint's answer, or why it is unusable (never a code in the reason).
    public static func interpretStart(status: Int, contentType: String?, body: [UInt8]) -> Result<Start, DeviceFlowError> {
        guard status == 200 else {
            let reason = (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["error"] as? String
            return .failure(DeviceFlowError(description: "device authorization endpoint answered HTTP \(status)"
                                            + (reason.map { ": " + OAuthTokenAnswer.clean($0) } ?? "")))
        }
        guard (contentType ?? "").lowercased().contains("json"),
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(DeviceFlowError(description: "device authorization endpoint answered something that is not a JSON object"))
        }
        func int(_ key: String) -> Int? { (object[key] as? Int) ?? (object[key] as? String).flatMap { Int($0) } }
        // Google says verification_url (before RFC 8628); Microsoft and the RFC verification_uri.
        guard let device = object["device_code"] as? String, !device.isEmpty,
              let user = object["user_code"] as? String, !user.isEmpty,
              let uri = (object["verification_uri"] as? String) ?? (object["verification_url"] as? String),
              let expires = int("expires_in"), expires > 0 else {
            return .failure(DeviceFlowError(description: "device authorization answer lacks device_code, user_code, verification_uri or expires_in"))
        }
        return .success(Start(deviceCode: device, userCode: OAuthTokenAnswer.clean(user), verificationURI: OAuthTokenAnswer.clean(uri),
                              verificationURIComplete: (object["verification_uri_complete"] as? String).map(OAuthTokenAnswer.clean),
                              expiresIn: expires, interval: max(1, int("interval") ?? 5)))
    }

    /// What to do after one poll of the token endpoint (RFC 8628 §3.5).
    public enum Step: Sendable, Equatable {
        case tokens(accessToken: String, refreshToken: String?, expiresIn: Int)
        /// Poll again after `interval` seconds (`slow_down` adds 5 s to the interval for good).
        case wait(interval: Int)
        case fail(String)
    }

    public static func step(status: Int, contentType: String?, retryAfter: String?, body: [UInt8], interval: Int) -> Step {
        if status == 400, let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
           let error = object["error"] as? String {
            switch error {
            case "authorization_pending": return .wait(interval: interval)
            case "slow_down": return .wait(interval: interval + 5)
            case "expired_token": return .fail("the device code expired before the login was approved: run the command again")
            case "access_denied": return .fail("the user declined the login")
            default: break
            }
        }
        switch OAuthTokenAnswer.interpret(status: status, contentType: contentType, retryAfter: retryAfter, body: body) {
        case .tokens(let access, let refresh, let expiresIn, _): return .tokens(accessToken: access, refreshToken: refresh, expiresIn: expiresIn)
        case .retryLater(_, let after): return .wait(interval: max(interval, after ?? interval))
        case .invalidGrant(let reason), .failed(let reason): return .fail(reason)
        }
    }
}

/// Why a device login did not start or finish (log-safe: never a code or a token).
public struct DeviceFlowError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(description: String) { self.description = description }
}
