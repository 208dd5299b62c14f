/// The life of one IDLE connection after its first `IDLE` was accepted (RFC 2177), as a pure state
/// machine: responses and clock ticks go in, actions come out; the caller does the I/O.
///
/// - `* n EXISTS` and `* n EXPUNGE` (RFC 3501 §7.3.1, §7.4.1) are `.changed`, in any phase.
/// - IDLE is renewed (`DONE`, the tagged OK, a new `IDLE`, its `+`) once `renewAfter` has passed
///   since it began: RFC 2177 §3 asks clients to re-issue it at least every 29 minutes, as servers
///   may drop a client idle for 30.
/// - Liveness: when nothing at all arrived for `probeAfterSilence`, the same renewal is done early.
///   It is the probe: a live server answers `DONE` with a tagged OK (as it would a NOOP). Every
///   awaited answer (the OK after `DONE`, the `+` after `IDLE`) must come within `answerWithin`,
///   else `.fail`. A connection that went silent is therefore given up at most
///   `probeAfterSilence + answerWithin` after its last byte.
/// - `* BYE`, a tagged NO/BAD, an unexpected tag or continuation are `.fail`: the caller closes the
///   connection and opens a new one.
public struct IdleCycle: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Timing: Sendable, Equatable {
        /// Renew IDLE after this long (at most 29 minutes, RFC 2177 §3).
        public var renewAfter: Duration
        /// Probe (renew early) after this long without a byte from the server.
        public var probeAfterSilence: Duration
        /// The longest wait for the answer to `DONE` or to `IDLE`.
        public var answerWithin: Duration

        public init(renewAfter: Duration = .seconds(25 * 60), probeAfterSilence: Duration = .seconds(180),
                    answerWithin: Duration = .seconds(30)) {
            self.renewAfter = renewAfter
            self.probeAfterSilence = probeAfterSilence
            self.answerWithin = answerWithin
        }

        /// How long after its last received byte a silent connection is given up, at the latest.
        public var stallBound: Duration { min(renewAfter, probeAfterSilence) + answerWithin }
    }

    public enum Phase: Sendable, Equatable {
        /// IDLE is running since `since`; `tag` is the tag of its command.
        case idling(tag: String, since: Instant)
        /// `DONE` was sent; waiting for the tagged completion of `tag` until `deadline`.
        case ending(tag: String, deadline: Instant)
        /// A new `IDLE` with `tag` was sent; waiting for its continuation request until `deadline`.
        case starting(tag: String, deadline: Instant)
    }

    public enum Action: Sendable, Equatable {
        /// The folder changed (EXISTS or EXPUNGE): wake its poll.
        case changed
        /// Write these bytes to the server.
        case send([UInt8])
        /// Give the connection up (the reason is log-safe: no secret ever reaches this machine).
        case fail(String)
    }

    public let timing: Timing
    public private(set) var phase: Phase
    /// When the last response arrived (or IDLE began).
    public private(set) var lastReceived: Instant
    /// How many times IDLE was renewed (a new `IDLE` accepted).
    public private(set) var renewals = 0
    private var tagCounter = 0

    /// A cycle whose first `IDLE`, tagged `tag`, the server accepted at `now`.
    public init(timing: Timing, idleTag tag: String, now: Instant) {
        self.timing = timing
        phase = .idling(tag: tag, since: now)
        lastReceived = now
    }

    /// The next instant at which `tick` has something to do.
    public var nextDeadline: Instant {
        switch phase {
        case .idling(_, let since):
            return min(since + timing.renewAfter, lastReceived + timing.probeAfterSilence)
        case .ending(_, let deadline), .starting(_, let deadline):
            return deadline
        }
    }

    /// One response from the server.
    public mutating func received(_ response: IMAPResponse, at now: Instant) -> [Action] {
        lastReceived = now
        switch response.tag {
        case .untagged:
            if response.condition == .bye {
                return [.fail("the server said BYE: \(response.text.prefix(200))")]
            }
            if let name = response.dataName, name == "EXISTS" || name == "EXPUNGE" { return [.changed] }
            return []
        case .continuation:
            guard case .starting(let tag, _) = phase else {
                return [.fail("unexpected continuation request while idling")]
            }
            phase = .idling(tag: tag, since: now)
            renewals += 1
            return []
        case .tagged(let completed):
            switch phase {
            case .ending(let tag, _) where tag == completed && response.condition == .ok:
                tagCounter += 1
                let next = "I\(tagCounter)"
                phase = .starting(tag: next, deadline: now + timing.answerWithin)
                return [.send(Array("\(next) IDLE\r\n".utf8))]
            case .ending(let tag, _) where tag == completed,
                .starting(let tag, _) where tag == completed,
                .idling(let tag, _) where tag == completed:
                let condition = response.condition?.rawValue ?? "no condition"
                return [.fail("IDLE ended with \(condition): \(response.text.prefix(200))")]
            default:
                return [.fail("completion for unknown tag \(completed.prefix(40))")]
            }
        }
    }

    /// The clock moved to `now`: renew, probe, or give up on a missing answer.
    public mutating func tick(at now: Instant) -> [Action] {
        switch phase {
        case .idling(let tag, let since):
            let renew = now >= since + timing.renewAfter
            let probe = now >= lastReceived + timing.probeAfterSilence
            guard renew || probe else { return [] }
            phase = .ending(tag: tag, deadline: now + timing.answerWithin)
            return [.send(Array("DONE\r\n".utf8))]
        case .ending(_, let deadline):
            guard now >= deadline else { return [] }
            return [.fail("no answer to DONE within \(timing.answerWithin): the connection is stalled")]
        case .starting(_, let deadline):
            guard now >= deadline else { return [] }
            return [.fail("no answer to IDLE within \(timing.answerWithin): the connection is stalled")]
        }
    }
}
