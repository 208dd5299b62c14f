import Testing
@testable import MailCore

/// The outbound host policy as a table: literal → allowed or refused, with the strictest policy.
struct OutboundPolicyTests {
    static let refused: [(String, AddressClass)] = [
        ("127.0.0.1", .loopback), ("127.1", .loopback), ("2130706433", .loopback), ("0x7f.0.0.1", .loopback),
        ("0177.0.0.1", .loopback), ("[::1]", .loopback), ("::1", .loopback),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::127.0.0.1", .loopback),
        ("169.254.169.254", .linkLocal), ("10.0.0.1", .private), ("172.16.0.1", .private), ("172.31.255.255", .private),
        ("192.168.1.1", .private), ("100.64.0.1", .shared), ("0.0.0.0", .unspecified), ("0", .unspecified),
        ("::", .unspecified), ("fe80::1", .linkLocal), ("fe80::1%eth0", .linkLocal), ("fc00::1", .uniqueLocal),
        ("fd12:3456::1", .uniqueLocal), ("224.0.0.1", .multicast), ("ff02::1", .multicast),
        ("255.255.255.255", .broadcast), ("240.0.0.1", .reserved), ("192.0.2.1", .reserved),
        ("64:ff9b::7f00:1", .loopback), ("64:ff9b::a9fe:a9fe", .linkLocal), ("2002:7f00:1::", .loopback),
        ("2002:a00:1::1", .private), ("2001:db8::1", .reserved), ("::ffff:10.1.2.3", .private),
    ]

    @Test(arguments: refused)
    func refusesNonGlobalAddresses(_ literal: String, _ expected: AddressClass) throws {
        let address = try #require(IPAddress(literal: literal), "\(literal) parses")
        #expect(AddressClass(address) == expected, "\(literal)")
        let refusal = try #require(OutboundPolicy().refusal(host: literal, address: address))
        #expect(refusal.description == "host \"\(literal)\" refused: address class \(expected.rawValue), not in MAILROOM_ALLOWED_HOSTS")
        // The unresolved check reads the literal the same way.
        #expect(OutboundPolicy().refusal(host: literal) == refusal)
    }

    @Test(arguments: ["93.184.216.34", "2606:2800::1", "8.8.8.8", "::ffff:93.184.216.34", "2002:5db8:d822::1", "172.32.0.1", "100.128.0.1"])
    func allowsGlobalAddresses(_ literal: String) throws {
        let address = try #require(IPAddress(literal: literal))
        #expect(AddressClass(address) == .global)
        #expect(OutboundPolicy().refusal(host: literal, address: address) == nil)
    }

    @Test func hostNamesAreJudgedOnceResolved() {
        #expect(OutboundPolicy().refusal(host: "mail.example.com") == nil)
        #expect(IPAddress(literal: "127.evil.test") == nil)
        #expect(IPAddress(literal: "1.2.3.4.5") == nil)
        #expect(IPAddress(literal: "256.0.0.1") == nil)
    }

    @Test func allowListCIDRsPermitTheirAddressesOnly() throws {
        let policy = try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "127.0.0.0/8, 10.1.0.0/16,::1/128"])
        #expect(policy.refusal(host: "x", address: IPAddress(literal: "127.0.0.5")!) == nil)
        #expect(policy.refusal(host: "x", address: IPAddress(literal: "::ffff:127.0.0.5")!) == nil)
        #expect(policy.refusal(host: "x", address: IPAddress(literal: "10.1.200.1")!) == nil)
        #expect(policy.refusal(host: "x", address: IPAddress(literal: "10.2.0.1")!) != nil)
        #expect(policy.refusal(host: "x", address: IPAddress(literal: "::1")!) == nil)
        #expect(policy.refusal(host: "x", address: IPAddress(literal: "fe80::1")!) != nil)
        #expect(policy.refusal(host: "169.254.169.254") != nil)
    }

    @Test func allowListNamesPermitThatConfiguredHost() throws {
        let policy = try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "localhost,Mail.Internal.Example."])
        let loopback = IPAddress(literal: "127.0.0.1")!
        #expect(policy.refusal(host: "localhost", address: loopback) == nil)
        #expect(policy.refusal(host: "mail.internal.example", address: IPAddress(literal: "10.0.0.9")!) == nil)
        // The name allows that host, not its address under another name or as a literal.
        #expect(policy.refusal(host: "other.example", address: loopback) != nil)
        #expect(policy.refusal(host: "127.0.0.1", address: loopback) != nil)
    }

    @Test func insecureUseNeedsTheInsecureList() throws {
        let strict = OutboundPolicy()
        #expect(OutboundPolicy.insecureUse(tls: false, verifyTLS: true, sendsPassword: true) == .clearTextLogin)
        #expect(OutboundPolicy.insecureUse(tls: false, verifyTLS: true, sendsPassword: false) == nil)
        #expect(OutboundPolicy.insecureUse(tls: true, verifyTLS: false, sendsPassword: true) == .unverifiedTLS)
        #expect(OutboundPolicy.insecureUse(tls: true, verifyTLS: true, sendsPassword: true) == nil)
        #expect(strict.insecureRefusal(host: "127.0.0.1", address: nil, use: .clearTextLogin)?.description
                == "host \"127.0.0.1\" refused: clear-text login, not in MAILROOM_INSECURE_HOSTS")
        let policy = try OutboundPolicy.fromEnvironment(["MAILROOM_INSECURE_HOSTS": "127.0.0.1/32,localhost"])
        #expect(policy.insecureRefusal(host: "127.0.0.1", address: nil, use: .clearTextLogin) == nil)
        #expect(policy.insecureRefusal(host: "127.1", address: nil, use: .unverifiedTLS) == nil)
        #expect(policy.insecureRefusal(host: "localhost", address: nil, use: .unverifiedTLS) == nil)
        #expect(policy.insecureRefusal(host: "mail.example", address: IPAddress(literal: "127.0.0.1")!, use: .unverifiedTLS) == nil)
        #expect(policy.insecureRefusal(host: "mail.example", address: nil, use: .unverifiedTLS) != nil)
        #expect(policy.insecureRefusal(host: "127.evil.test", address: nil, use: .clearTextLogin) != nil)
        // Insecure does not imply allowed.
        #expect(policy.refusal(host: "127.0.0.1") != nil)
    }

    @Test(arguments: [
        "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "/8", "10.0.0/8", "127.1", "0x7f.0.0.1", "999.0.0.1",
        "a,,b", "a,", "bad_name", "-bad.example", "http://x", "fe80::1/129", "fe80::1/10", "*.example.com",
        "10.0.0.0/08x", "1.2.3.4 5.6.7.8",
    ])
    func malformedEntriesAreErrors(_ text: String) {
        #expect(throws: SettingError.self, "\(text)") {
            try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": text])
        }
        #expect(throws: SettingError.self, "\(text)") {
            try OutboundPolicy.fromEnvironment(["MAILROOM_INSECURE_HOSTS": text])
        }
    }

    @Test func emptyAndUnsetListsAreEmpty() throws {
        #expect(try OutboundPolicy.fromEnvironment([:]) == OutboundPolicy())
        #expect(try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": " "]) == OutboundPolicy())
        let p = try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "127.0.0.1/32,::1/128,localhost"])
        #expect(p.allowed.networks.map(\.description) == ["127.0.0.1/32", "0:0:0:0:0:0:0:1/128"])
        #expect(p.allowed.names == ["localhost"])
    }

    @Test func settingErrorsNameTheVariable() {
        #expect(throws: SettingError("MAILROOM_ALLOWED_HOSTS", "\"10.0.0.1/8\" has host bits set (did you mean 10.0.0.0/8?)")) {
            try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "10.0.0.1/8"])
        }
    }
}

struct TransferLimitsTests {
    @Test func defaultsAndParsing() throws {
        #expect(try TransferLimits.fromEnvironment([:]) == TransferLimits(maxMessageSize: 50 << 20, fetchBudget: 256 << 20))
        let l = try TransferLimits.fromEnvironment(["MAILROOM_MAX_MESSAGE_SIZE": "1048576", "MAILROOM_FETCH_BUDGET": "64MiB"])
        #expect(l.maxMessageSize == 1 << 20)
        #expect(l.fetchBudget == 64 << 20)
        #expect(l.effectiveLimit(account: 10 << 20) == 1 << 20)
        #expect(l.effectiveLimit(account: 1000) == 1000)
    }

    @Test(arguments: ["", "0", "-1", "50MB", "50 MiB", "1e6", "abc", "99999999999999999999", "9999999999999GiB"])
    func malformedSizesAreErrors(_ text: String) {
        #expect(throws: SettingError.self) { try TransferLimits.fromEnvironment(["MAILROOM_MAX_MESSAGE_SIZE": text]) }
        #expect(throws: SettingError.self) { try TransferLimits.fromEnvironment(["MAILROOM_FETCH_BUDGET": text]) }
    }
}

struct ByteBudgetTests {
    /// Yields until `count` reservations wait in the queue (a condition, not a clock).
    static func untilWaiting(_ budget: ByteBudget, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while budget.waiting < count {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            await Task.yield()
        }
    }

    @Test func waitsWhileSpentAndServesInOrder() async throws {
        let budget = ByteBudget(capacity: 100)
        let first = try await budget.reserve(80)
        #expect(budget.available == 20)
        let second = Task { try await budget.reserve(50) }
        // Not granted while the first holds 80: it waits in the queue.
        try await Self.untilWaiting(budget, 1)
        #expect(budget.available == 20)
        first.release()
        let granted = try await second.value
        #expect(granted.held == 50)
        #expect(budget.available == 50)
        granted.release()
        granted.release()
        #expect(budget.available == 100)
    }

    @Test func oversizeRequestRunsAloneInsteadOfDeadlocking() async throws {
        let budget = ByteBudget(capacity: 100)
        let small = try await budget.reserve(10)
        let big = Task { try await budget.reserve(1000) }
        small.release()
        let r = try await big.value
        #expect(r.held == 100)
        #expect(budget.available == 0)
        r.grow(to: 150)
        #expect(budget.available == -50)
        r.release()
        #expect(budget.available == 100)
    }

    @Test func cancelledWaiterLeavesTheQueue() async throws {
        let budget = ByteBudget(capacity: 10)
        let held = try await budget.reserve(10)
        let waiter = Task { try await budget.reserve(5) }
        try await Self.untilWaiting(budget, 1)
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(budget.waiting == 0)
        held.release()
        #expect(budget.available == 10)
        let again = try await budget.reserve(10)
        again.release()
    }
}
