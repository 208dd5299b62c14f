import ArgumentParser
import Foundation
import MailCore
import MailStore

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Queue an email through an account on behalf of a user (the running workers send it).",
        discussion: """
            Goes through mailroom_queue_email, like the host CRM: the user's permission on the account, header
            values, addresses and attachment sizes are checked by the database before anything is queued.

            With --case N the email is a reply on support case N: it goes from the case's account (unless --from
            names another), its subject carries [#N] exactly once, it answers the case's latest inbound email
            (In-Reply-To, References; to its sender when no recipient is given), and the worker gives it a
            Message-ID carrying the case's signed token, so the customer's answer joins the case.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Tenant slug.")
    var tenant: String

    @Option(help: "Account name or address to send from (with --case: by default the case's account).")
    var from: String?

    @Option(name: .customLong("case"), help: "Number of the support case this email replies on.")
    var caseNumber: Int64?

    @Option(name: .customLong("as"), help: "Username of the sending user (their permission is checked).")
    var user: String

    @Option(help: "Recipient (repeatable; with --case, by default the sender of the case's latest email).") var to: [String] = []
    @Option(help: "Cc recipient (repeatable).") var cc: [String] = []
    @Option(help: "Bcc recipient (repeatable).") var bcc: [String] = []
    @Option(help: "Subject.") var subject: String
    @Option(help: "File holding the text body.") var body: String?
    @Option(help: "File holding the HTML body.") var html: String?
    @Option(help: "File to attach (repeatable); the content type is application/octet-stream unless given as FILE:TYPE/SUBTYPE.")
    var attach: [String] = []
    @Flag(help: "Send even to recipients marked undeliverable because they bounced (docs/bounces.md).")
    var sendAnyway = false

    func run() async throws {
        try global.bootstrapLogging()
        // The workers connect, but a malformed outbound setting is reported here too, before queueing.
        _ = try global.outboundSettings()
        if from == nil, caseNumber == nil { throw ValidationError("give --from, --case or both") }
        func read(_ path: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            return Array(data)
        }
        let text = try body.map { String(decoding: try read($0), as: UTF8.self) }
        let htmlBody = try html.map { String(decoding: try read($0), as: UTF8.self) }
        let attachments = try attach.map { spec -> EmailDraft.Attachment in
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            let path = parts[0]
            return .init(filename: URL(fileURLWithPath: path).lastPathComponent,
                         contentType: parts.count > 1 ? parts[1] : "application/octet-stream", data: try read(path))
        }
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        let (slug, accountName, username, caseNumber) = (tenant, from, user, self.caseNumber)
        let (to, cc, bcc, subject, sendAnyway) = (self.to, self.cc, self.bcc, self.subject, self.sendAnyway)
        let id = try await pool.withConnection { conn -> EmailID in
            guard let t = try TenantQueries.tenantGetBySlug(conn, slug: slug) else { throw ValidationError("no tenant \"\(slug)\"") }
            return try conn.transaction(tenant: t.id) { () -> EmailID in
                let account = try accountName.map { name -> AccountID in
                    guard let id = try MailAccountQueries.mailAccountFind(conn, tenant: t.id, nameOrAddress: name) else {
                        throw ValidationError("no account \"\(name)\" in tenant \"\(slug)\"")
                    }
                    return id
                }
                let parent = try caseNumber.map { number -> (type: String, id: Int64) in
                    guard let found = try CaseQueries.caseGetByNumber(conn, tenant: t.id, number: number) else {
                        throw ValidationError("no case #\(number) in tenant \"\(slug)\"")
                    }
                    return (RecordType.supportCase.rawValue, found.id)
                }
                guard let userID: UserID = try conn.query("SELECT id FROM app_user WHERE tenant_id = \(t.id) AND username = \(username)")
                    .first?.decode(at: 0) else { throw ValidationError("no user \"\(username)\" in tenant \"\(slug)\"") }
                return try EmailQueries.emailQueue(conn, tenant: t.id, EmailDraft(
                    account: account, user: userID, to: to, cc: cc, bcc: bcc, subject: subject, text: text, html: htmlBody,
                    attachments: attachments, parent: parent, sendAnyway: sendAnyway))
            }
        }
        print("queued email \(id)")
    }
}
