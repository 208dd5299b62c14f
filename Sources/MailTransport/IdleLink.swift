import MailProtocol

/// One IDLE connection inside the event loop: the handed-over client and its `IdleCycle`.
///
/// Used only on the loop thread. Reads never wait (`NetworkConnection.readAvailable`); the few
/// bytes the cycle writes (`DONE`, `tag IDLE`) go through the connection's ordinary write, which a
/// socket with an empty send buffer accepts at once and which is bounded by the I/O timeout.
final class IdleLink {
    let handoff: IdleHandoff
    private(set) var cycle: IdleCycle

    init(_ handoff: IdleHandoff, timing: IdleCycle.Timing, now: ContinuousClock.Instant) {
        self.handoff = handoff
        cycle = IdleCycle(timing: timing, idleTag: handoff.tag, now: now)
    }

    var descriptor: Int32 { handoff.connection.fd }

    /// What one service of the connection found.
    struct Outcome {
        var changed = false
        /// IDLE renewals completed.
        var renewals = 0
        /// Set when the connection must be given up (log-safe).
        var failure: String?
    }

    /// Handles every response already buffered, then reads and handles until the socket (and
    /// OpenSSL's buffer) holds nothing more. Call when epoll reports the socket readable and once
    /// right after the handoff (bytes may already wait in the framer or in OpenSSL).
    func service(now: ContinuousClock.Instant) -> Outcome {
        var outcome = Outcome()
        let renewalsBefore = cycle.renewals
        readAvailable(now: now, into: &outcome)
        outcome.renewals = cycle.renewals - renewalsBefore
        return outcome
    }

    private func readAvailable(now: ContinuousClock.Instant, into outcome: inout Outcome) {
        do {
            while true {
                while let received = try handoff.client.bufferedResponse() {
                    perform(cycle.received(received.response, at: now), into: &outcome)
                    if outcome.failure != nil { return }
                }
                guard let count = try handoff.connection.readAvailable(into: &handoff.client.framer.buffer,
                                                                       max: IMAPClient.readSize)
                else { return }
                if count == 0 {
                    outcome.failure = "the server closed the connection"
                    return
                }
            }
        } catch {
            outcome.failure = error.detail
        }
    }

    /// Lets the cycle act on the clock: renew, probe, give up.
    func tick(now: ContinuousClock.Instant) -> Outcome {
        var outcome = Outcome()
        perform(cycle.tick(at: now), into: &outcome)
        return outcome
    }

    private func perform(_ actions: [IdleCycle.Action], into outcome: inout Outcome) {
        for action in actions where outcome.failure == nil {
            switch action {
            case .changed:
                outcome.changed = true
            case .send(let bytes):
                do {
                    try handoff.client.write(bytes)
                } catch {
                    outcome.failure = error.detail
                }
            case .fail(let reason):
                outcome.failure = handoff.client.scrub(reason)
            }
        }
    }

    func close() { handoff.close() }
}
