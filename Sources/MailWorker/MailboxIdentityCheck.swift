import Foundation
import MailCore
import MailStore
import MailTransport

/// A login whose tokens belong to another mailbox than the account's, or whose mailbox could not be
/// checked: nothing was stored. Names the account's login and the server, never a token.
public struct MailboxIdentityError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension OAuthTokens {
    /// Stores a new login's tokens (`storeLogin`) only once the mailbox they open is the account's.
    ///
    /// An OAuth login proves that *someone* consented, not that it was the account's mailbox: an
    /// operator signed in to the provider as themselves, a colleague approving a device code with the
    /// wrong browser profile, would otherwise connect their own mailbox under the account's name. So the
    /// new access token logs in to the account's IMAP server as the account's configured username
    /// (SASL XOAUTH2 / OAUTHBEARER: the server checks that the token is that user's, as Microsoft,
    /// Google and the test Dovecot's introspection do); a refusal stores nothing and says why. An
    /// account that does not read mail with OAuth (only sends with it), or has no IMAP server yet, is
    /// not checked. Blocking: runs on the transaction's connection thread.
    func storeVerifiedLogin(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, accessToken: String, refreshToken: String,
                            expiresIn: Int) throws {
        try verifyMailbox(conn, tenant: tenant, account: account, accessToken: Secret(accessToken))
        try storeLogin(conn, tenant: tenant, account: account, accessToken: accessToken, refreshToken: refreshToken, expiresIn: expiresIn)
    }

    /// Logs in to the account's IMAP server as its username with `accessToken` (see `storeVerifiedLogin`).
    func verifyMailbox(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, accessToken: Secret) throws {
        guard let record = try MailAccountQueries.mailAccountGet(conn, tenant: tenant, id: account) else {
            throw MailboxIdentityError(description: "the mail account no longer exists; nothing was stored")
        }
        guard record.imapAuth == LoginMethod.oauth2.rawValue, let host = record.imapHost else { return }
        guard let security = TransportSecurity(rawValue: record.imapSecurity) else {
            throw MailboxIdentityError(description: "account \(record.name) has an unknown imap_security setting; nothing was stored")
        }
        let username = record.imapUsername ?? record.address
        let port = record.imapPort ?? (security == .tls ? 993 : 143)
        let endpoint = IMAPEndpoint(host: host, port: port, security: security, verifyTLS: record.imapVerifyTLS, username: username,
                                    password: accessToken, login: .oauth2, connectTimeout: .seconds(30), ioTimeout: .seconds(60),
                                    policy: policy)
        do {
            let session = try IMAPSession(endpoint: endpoint)
            try session.noop()
        } catch let error as TransportError where error.code == .authenticationFailed {
            logger.warning("OAuth login refused: the tokens are not for the account's mailbox",
                           metadata: ["tenant_id": "\(tenant)", "account_id": "\(account)", "imap_username": "\(username)"])
            throw MailboxIdentityError(description: """
                the login is for another mailbox: \(host):\(port) refused the new token for \(username); \
                nothing was stored (sign in at the provider as \(username))
                """)
        } catch {
            throw MailboxIdentityError(description: "could not check the login's mailbox at \(host):\(port) (\(error)); nothing was stored")
        }
    }
}
