import MailTransport

extension TransportError {
    /// Failures of the connection or the account rather than of one message: the poll stops (the
    /// cursor keeps what was committed) and the error is recorded on the account. A host the
    /// outbound policy refuses is one: it is retried at the account's next scheduled poll, not sooner.
    var isConnectionLevel: Bool {
        isTransient || code == .tlsFailed || code == .authenticationFailed || code == .noSuchFolder || code == .hostRefused
    }
}
