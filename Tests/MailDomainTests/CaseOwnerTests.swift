import MailCore
import MailDomain
import Testing

@Suite struct CaseOwnerTests {
    /// support@ and sales@ create cases; billing@ does not; alice@ is a personal mailbox; help@ is an
    /// alias of support, orders@ one of sales.
    static let support = AccountID(1), sales = AccountID(2)
    static let billing = AccountID(3), alice = AccountID(4)

    static func owners(supportPriority: Int = 0, salesPriority: Int = 0) -> CaseOwner {
        CaseOwner(accounts: [
            .init(id: support, address: "support@acme.test", aliases: ["help@acme.test"], createsCases: true, priority: supportPriority),
            .init(id: sales, address: "Sales@acme.test", aliases: ["ORDERS@acme.test"], createsCases: true, priority: salesPriority),
            .init(id: billing, address: "billing@acme.test", aliases: ["invoices@acme.test"], createsCases: false, priority: 99),
            .init(id: alice, address: "alice@acme.test", createsCases: false),
        ])
    }

    typealias Row = (to: [String], cc: [String], envelope: [String], expected: AccountID?)

    /// With equal priorities: the first addressed case-creating account, To before Cc before the
    /// envelope headers; monitored mailboxes in envelope headers never count.
    @Test(arguments: [
        (["support@acme.test"], ["sales@acme.test"], ["support@acme.test"], support),
        (["support@acme.test"], ["sales@acme.test"], ["sales@acme.test"], support),  // the other copy: same answer
        (["sales@acme.test"], ["support@acme.test"], [], sales),
        (["SUPPORT@ACME.TEST", "sales@acme.test"], [], [], support),
        (["customer@other.test"], ["sales@acme.test", "support@acme.test"], [], sales),
        (["billing@acme.test"], ["sales@acme.test"], [], sales),  // billing creates no cases
        (["orders@acme.test"], ["support@acme.test"], [], sales),  // an alias in To counts like the address
        (["list@other.test"], [], ["help@acme.test", "sales@acme.test"], support),  // alias via X-Original-To
        (["list@other.test"], [], ["sales@acme.test"], nil),  // Delivered-To of one copy only: not addressed
        (["list@other.test"], [], ["invoices@acme.test"], nil),  // alias of an account without cases
        ([], [], [], nil),  // Bcc: the poller decides
        (["alice@acme.test"], [], [], nil),
    ] as [Row])
    func addressOrder(_ row: Row) {
        let addressing = CaseOwner.Addressing(to: row.to, cc: row.cc, envelope: row.envelope)
        #expect(Self.owners().owner(addressing) == row.expected)
    }

    /// A higher priority beats address order; ties fall back to it.
    @Test(arguments: [
        (0, 0, support), (0, 5, sales), (5, 0, support), (-1, 0, sales), (3, 3, support),
    ] as [(Int, Int, AccountID)])
    func priorityOverridesAddressOrder(_ supportPriority: Int, _ salesPriority: Int, _ expected: AccountID) {
        let owners = Self.owners(supportPriority: supportPriority, salesPriority: salesPriority)
        let addressing = CaseOwner.Addressing(to: ["support@acme.test"], cc: ["sales@acme.test"], envelope: [])
        #expect(owners.owner(addressing) == expected)
    }

    /// An alias that is also some mailbox's address is that mailbox, never an alias.
    @Test func aliasNamingAMonitoredMailboxIsIgnored() {
        let owners = CaseOwner(accounts: [
            .init(id: Self.support, address: "support@acme.test", aliases: ["alice@acme.test"], createsCases: true),
            .init(id: Self.alice, address: "alice@acme.test", createsCases: false),
        ])
        #expect(owners.owner(.init(to: [], cc: [], envelope: ["alice@acme.test"])) == nil)
        #expect(owners.owner(.init(to: ["alice@acme.test"], cc: [], envelope: [])) == nil)
        #expect(!owners.isEmpty)
        #expect(CaseOwner(accounts: [.init(id: Self.alice, address: "alice@acme.test", createsCases: false)]).isEmpty)
    }

    /// Envelope addresses come from X-Original-To and Delivered-To in header order, any case, with or
    /// without angle brackets; other headers are not read.
    @Test func readsEnvelopeHeaders() {
        let addressing = CaseOwner.Addressing(to: ["A@acme.test"], cc: [], headers: [
            ("Delivered-To", "help@acme.test"), ("Received", "from x"), ("x-original-to", " <Orders@Acme.test>\r\n"),
            ("Return-Path", "<bounce@other.test>"), ("DELIVERED-TO", "support@acme.test"), ("Delivered-To", "  "),
        ])
        #expect(addressing == CaseOwner.Addressing(to: ["a@acme.test"], cc: [],
                                                   envelope: ["help@acme.test", "orders@acme.test", "support@acme.test"]))
    }
}
