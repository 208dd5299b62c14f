import MailCore

extension RecordTokenSigner {
    /// The Message-ID an outgoing email belonging to `record` must carry, given the one it holds:
    /// nil when `current` already verifies for exactly that record (keep it: a retry, or a caller that
    /// signed it already), else a fresh signed one in `domain`. A random Message-ID, someone else's
    /// token and a token for another record are all replaced, so a reply always threads back to the
    /// record it was written on.
    public func messageID(replacing current: String, for record: RecordRef, domain: String) -> String? {
        if let v = verify(current), v.type == record.type, v.id == record.id { return nil }
        return messageID(type: record.type, id: record.id, domain: domain)
    }
}
