#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time by which a socket must become ready, and the `poll(2)` wait for it.
struct IODeadline {
    let limit: Duration
    private(set) var instant: ContinuousClock.Instant

    init(_ limit: Duration) {
        self.limit = limit
        instant = .now + limit
    }

    /// Starts the limit again (bytes moved: the I/O timeout counts time without progress).
    mutating func restart() { instant = .now + limit }

    /// Whole milliseconds left, rounded up so that a wait never ends before the deadline; 0 once past.
    var remainingMilliseconds: Int32 {
        let left = ContinuousClock.now.duration(to: instant)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }

    /// Waits until `fd` is ready for `events` (`POLLIN` / `POLLOUT`), or throws `.timeout` with
    /// `what` as the detail once the deadline passes. An error or hang-up on the socket counts as
    /// ready: the next send or receive reports it.
    func wait(_ fd: Int32, for events: Int32, _ what: @autoclosure () -> String,
              service: String) throws(TransportError) {
        var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
        while true {
            let left = remainingMilliseconds
            let ready = poll(&entry, 1, left)
            if ready > 0 { return }
            if ready < 0, errno == EINTR { continue }
            if ready < 0 {
                throw TransportError(.connectionLost, detail: "poll failed: \(systemError(errno))", service: service)
            }
            // poll with 0 ms answered at once: the deadline had already passed.
            if left == 0 || remainingMilliseconds == 0 {
                throw TransportError(.timeout, detail: what(), service: service)
            }
        }
    }
}

/// `strerror` text for an `errno` value.
func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }

/// `close(2)`, for types whose own `close()` hides the system call's name.
func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #elseif canImport(Darwin)
    _ = Darwin.close(fd)
    #endif
}
