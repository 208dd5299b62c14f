/// Initial responses of the SASL mechanisms an IMAP client uses with `AUTHENTICATE` (RFC 3501
/// §6.2.2, RFC 4959 SASL-IR), base64-encoded as they go on the wire.
public enum IMAPSASL {
    /// PLAIN (RFC 4616): `authzid NUL authcid NUL passwd`, with an empty authzid.
    public static func plain(username: String, password: String) -> String {
        base64([0] + Array(username.utf8) + [0] + Array(password.utf8))
    }

    /// OAUTHBEARER (RFC 7628 §3.1): GS2 header naming the user, then `auth=Bearer <token>`
    /// (host and port are optional and left out), separated and ended by ^A.
    public static func oauthBearer(username: String, token: String) -> String {
        base64(Array("n,a=\(saslName(username)),\u{1}auth=Bearer \(token)\u{1}\u{1}".utf8))
    }

    /// XOAUTH2 (Google's and Microsoft's mechanism): `user=U ^A auth=Bearer T ^A ^A`.
    public static func xoauth2(username: String, token: String) -> String {
        base64(Array("user=\(username)\u{1}auth=Bearer \(token)\u{1}\u{1}".utf8))
    }

    /// What a client answers to an OAUTHBEARER error challenge (RFC 7628 §3.2.3): a single ^A,
    /// after which the server completes the exchange with NO.
    public static let oauthBearerAbort = base64([1])

    /// RFC 5801 §4 `saslname`: `=` and `,` escaped.
    static func saslName(_ name: String) -> String {
        name.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// RFC 4648 base64 with padding.
    public static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let n = UInt32(bytes[index]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
