/// A `* STATUS mailbox (name value …)` response (RFC 3501 §7.2.4), the mailbox name decoded
/// (`MailboxNameEncoding`), item names upper-cased.
public struct IMAPStatusResponse: Sendable, Equatable {
    public var mailbox: String
    public var items: [String: UInt64]

    /// Parses a STATUS response; nil when `response` is another kind of response.
    public init?(_ response: IMAPResponse, names: MailboxNameEncoding = .modifiedUTF7) throws(IMAPProtocolError) {
        guard response.dataName == "STATUS" else { return nil }
        guard response.values.count >= 3, let name = response.values[1].text, let list = response.values[2].list,
            list.count % 2 == 0
        else { throw IMAPProtocolError(.malformed, "STATUS without a mailbox and an attribute list") }
        mailbox = (try? names.decode(name)) ?? name
        items = [:]
        for index in stride(from: 0, to: list.count, by: 2) {
            guard let item = list[index].atom?.uppercased(), let value = list[index + 1].number else {
                throw IMAPProtocolError(.malformed, "STATUS item is not a name and a number")
            }
            items[item] = value
        }
    }

    /// The STATUS response for `mailbox` in a command's answer, if any.
    public static func find(in stream: [UInt8], mailbox: String,
                            names: MailboxNameEncoding = .modifiedUTF7) throws(IMAPProtocolError) -> IMAPStatusResponse? {
        let responses: [IMAPResponse]
        do { responses = try IMAPResponse.parseStream(stream) } catch let error as IMAPProtocolError { throw error } catch {
            throw IMAPProtocolError(.malformed, "unreadable STATUS answer")
        }
        for response in responses {
            if let status = try IMAPStatusResponse(response, names: names), status.mailbox == mailbox { return status }
        }
        return nil
    }
}
