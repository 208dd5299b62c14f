import MailProtocol
import Testing

@Suite struct IdleCycleTests {
    let start = ContinuousClock.now
    let timing = IdleCycle.Timing(renewAfter: .seconds(100), probeAfterSilence: .seconds(30), answerWithin: .seconds(5))

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int(seconds * 1000)) }

    func response(_ line: String) throws -> IMAPResponse {
        try #require(try IMAPResponse.parseStream(Array("\(line)\r\n".utf8)).first)
    }

    func send(_ text: String) -> IdleCycle.Action { .send(Array(text.utf8)) }

    @Test func existsAndExpungeAreChangesOtherDataIsNot() throws {
        var cycle = IdleCycle(timing: timing, idleTag: "M5", now: start)
        let table: [(String, [IdleCycle.Action])] = [
            ("* 3 EXISTS", [.changed]),
            ("* 2 EXPUNGE", [.changed]),
            ("* 1 RECENT", []),
            ("* 4 FETCH (FLAGS (\\Seen))", []),
            ("* OK Still here", []),
        ]
        for (line, expected) in table {
            #expect(cycle.received(try response(line), at: at(1)) == expected, "\(line)")
        }
        #expect(cycle.phase == .idling(tag: "M5", since: start))
    }

    @Test func renewalAfterTheIntervalSendsDoneThenIdleAgain() throws {
        var cycle = IdleCycle(timing: timing, idleTag: "M5", now: start)
        #expect(cycle.nextDeadline == at(30), "the probe comes first while nothing arrives")
        // Bytes keep arriving: only the renewal interval is left.
        for second in stride(from: 20.0, through: 99.0, by: 20) {
            _ = cycle.received(try response("* OK Still here"), at: at(second))
        }
        #expect(cycle.tick(at: at(99)) == [])
        #expect(cycle.tick(at: at(100)) == [send("DONE\r\n")])
        #expect(cycle.phase == .ending(tag: "M5", deadline: at(105)))
        #expect(cycle.received(try response("* 4 EXISTS"), at: at(100.5)) == [.changed], "changes still count while ending")
        #expect(cycle.received(try response("M5 OK Idle completed."), at: at(101)) == [send("I1 IDLE\r\n")])
        #expect(cycle.phase == .starting(tag: "I1", deadline: at(106)))
        #expect(cycle.received(try response("+ idling"), at: at(101.1)) == [])
        #expect(cycle.phase == .idling(tag: "I1", since: at(101.1)))
        #expect(cycle.renewals == 1)
        #expect(cycle.nextDeadline == at(131.1))
    }

    @Test func silenceIsProbedAndAStallFailsWithinTheBound() {
        var cycle = IdleCycle(timing: timing, idleTag: "M5", now: start)
        #expect(cycle.tick(at: at(29.9)) == [])
        #expect(cycle.tick(at: at(30)) == [send("DONE\r\n")])
        #expect(cycle.tick(at: at(34.9)) == [])
        guard case .fail = cycle.tick(at: at(35)).first else {
            Issue.record("no failure once the answer to DONE is late")
            return
        }
        #expect(timing.stallBound == .seconds(35))
    }

    @Test func aLateContinuationFails() throws {
        var cycle = IdleCycle(timing: timing, idleTag: "M5", now: start)
        _ = cycle.tick(at: at(30))
        _ = cycle.received(try response("M5 OK done"), at: at(31))
        #expect(cycle.tick(at: at(35.9)) == [])
        guard case .fail = cycle.tick(at: at(36)).first else {
            Issue.record("no failure once the answer to IDLE is late")
            return
        }
    }

    @Test func byeRefusalsAndStrayResponsesFail() throws {
        let lines = ["* BYE Server shutting down.", "M5 BAD Expected DONE.", "X9 OK what", "+ again"]
        for line in lines {
            var cycle = IdleCycle(timing: timing, idleTag: "M5", now: start)
            let actions = cycle.received(try response(line), at: at(1))
            guard actions.count == 1, case .fail = actions[0] else {
                Issue.record("\(line): \(actions)")
                continue
            }
        }
        var refused = IdleCycle(timing: timing, idleTag: "M5", now: start)
        _ = refused.tick(at: at(30))
        _ = refused.received(try response("M5 OK done"), at: at(31))
        let actions = refused.received(try response("I1 NO [LIMIT] too many"), at: at(31.5))
        guard actions.count == 1, case .fail(let reason) = actions[0] else {
            Issue.record("\(actions)")
            return
        }
        #expect(reason.contains("NO"))
    }
}
