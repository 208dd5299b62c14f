import MailTesting
import Foundation
import MailCore
import MailStore

/// Deterministic outgoing emails for `mailroom-bench send`: the same seed and count give the same
/// drafts. Mix (by index, spread evenly): 70 % plain text 1–4 KB, 20 % text plus HTML 5–20 KB,
/// 10 % text with one 20–200 KB binary attachment; one in four with a Cc.
struct SendDraftGenerator {
    enum Kind: String, CaseIterable, Sendable {
        case plain, html, attachment
    }

    let seed: UInt64

    func kind(of index: Int) -> Kind {
        switch index % 10 {
        case 0..<7: .plain
        case 7..<9: .html
        default: .attachment
        }
    }

    /// The draft of email `index`, from `account` as `user`, to `recipient` (Cc to `cc` sometimes).
    func draft(_ index: Int, account: AccountID, user: UserID, recipient: String, cc: String) -> EmailDraft {
        var rng = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let subject = "[bench \(index)] " + MessageGenerator.words(&rng, count: 3 + rng.below(6))
        var draft = EmailDraft(account: account, user: user, to: [recipient], cc: rng.below(4) == 0 ? [cc] : [],
                               subject: subject, text: nil)
        switch kind(of: index) {
        case .plain:
            draft.text = MessageGenerator.paragraphs(&rng, bytes: 1024 + rng.below(3 * 1024))
        case .html:
            let target = 5 * 1024 + rng.below(15 * 1024)
            draft.text = MessageGenerator.paragraphs(&rng, bytes: target / 3)
            draft.html = "<html><body>\n" + MessageGenerator.paragraphs(&rng, bytes: target * 2 / 3)
                .components(separatedBy: "\r\n\r\n").map { "<p>\($0)</p>" }.joined(separator: "\n") + "\n</body></html>\n"
        case .attachment:
            draft.text = MessageGenerator.paragraphs(&rng, bytes: 1024 + rng.below(1024))
            let size = 20 * 1024 + rng.below(180 * 1024)
            var data = [UInt8](repeating: 0, count: size)
            for i in stride(from: 0, to: size, by: 8) {
                withUnsafeBytes(of: rng.next()) { word in
                    for j in 0..<min(8, size - i) { data[i + j] = word[j] }
                }
            }
            draft.attachments = [.init(filename: "report-\(index).bin", contentType: "application/octet-stream", data: data)]
        }
        return draft
    }
}
