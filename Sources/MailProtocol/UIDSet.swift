import MailCore

/// A set of UIDs kept as sorted, disjoint, non-adjacent closed ranges: the compact form of an IMAP
/// `sequence-set` restricted to UIDs (RFC 3501 §9), without `*`.
///
/// `description` renders the IMAP form (`1:5,7,9:12`), so a set can be put into a command as is.
public struct UIDSet: Sendable, Equatable, Hashable, CustomStringConvertible, Sequence {
    /// Closed ranges in ascending order; neighbours are separated by at least one missing UID.
    public private(set) var ranges: [ClosedRange<UInt32>]

    public init() { ranges = [] }

    public init<S: Sequence>(_ uids: S) where S.Element == UID {
        ranges = []
        var sorted = uids.map(\.rawValue)
        sorted.sort()
        for value in sorted { appendSorted(value...value) }
    }

    public init(_ range: ClosedRange<UID>) {
        ranges = [range.lowerBound.rawValue...range.upperBound.rawValue]
    }

    /// Parses `1:5,7,9:12`. Ranges may be written high-to-low (`5:1`, RFC 3501 §9 allows it) and
    /// may overlap; `*` is refused because its meaning depends on the mailbox.
    public init(parsing text: String) throws {
        var ranges: [ClosedRange<UInt32>] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count) else {
                throw IMAPProtocolError(.malformed, "bad UID set element '\(part)'")
            }
            let numbers = try ends.map { end -> UInt32 in
                guard let n = UInt32(end), n > 0 else {
                    throw IMAPProtocolError(.malformed, "bad UID '\(end)' in UID set")
                }
                return n
            }
            let low = numbers.min()!, high = numbers.max()!
            ranges.append(low...high)
        }
        self.ranges = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) { appendSorted(range) }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// The number of UIDs in the set.
    public var count: Int { ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) + 1 } }

    public var min: UID? { ranges.first.map { UID($0.lowerBound) } }
    public var max: UID? { ranges.last.map { UID($0.upperBound) } }

    public func contains(_ uid: UID) -> Bool {
        // Binary search: sets from ESEARCH can hold many ranges.
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < uid.rawValue { low = mid + 1 } else { high = mid }
        }
        return low < ranges.count && ranges[low].contains(uid.rawValue)
    }

    public mutating func insert(_ uid: UID) {
        guard !contains(uid) else { return }
        self = UIDSet(Array(self) + [uid])
    }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound):\($0.upperBound)" }
            .joined(separator: ",")
    }

    /// Splits the set, in ascending order, into sets of at most `maxCount` UIDs each.
    public func chunked(maxCount: Int) -> [UIDSet] {
        precondition(maxCount > 0, "maxCount must be positive")
        var chunks: [UIDSet] = []
        var current = UIDSet()
        var currentCount = 0
        for range in ranges {
            var low = range.lowerBound
            while true {
                let room = UInt64(maxCount - currentCount)
                let high = UInt32(Swift.min(UInt64(range.upperBound), UInt64(low) + room - 1))
                current.ranges.append(low...high)
                currentCount += Int(high - low) + 1
                if currentCount == maxCount {
                    chunks.append(current)
                    current = UIDSet()
                    currentCount = 0
                }
                if high == range.upperBound { break }
                low = high + 1
            }
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    public func makeIterator() -> Iterator { Iterator(ranges: ranges) }

    public struct Iterator: IteratorProtocol {
        let ranges: [ClosedRange<UInt32>]
        var index = 0
        var upcoming: UInt64?

        init(ranges: [ClosedRange<UInt32>]) {
            self.ranges = ranges
            upcoming = ranges.first.map { UInt64($0.lowerBound) }
        }

        public mutating func next() -> UID? {
            guard index < ranges.count, let value = upcoming else { return nil }
            if value == UInt64(ranges[index].upperBound) {
                index += 1
                upcoming = index < ranges.count ? UInt64(ranges[index].lowerBound) : nil
            } else {
                upcoming = value + 1
            }
            return UID(UInt32(value))
        }
    }

    /// Appends a range that starts at or after the last range's start, merging overlaps and neighbours.
    private mutating func appendSorted(_ range: ClosedRange<UInt32>) {
        if let last = ranges.last, UInt64(range.lowerBound) <= UInt64(last.upperBound) + 1 {
            ranges[ranges.count - 1] = last.lowerBound...Swift.max(last.upperBound, range.upperBound)
        } else {
            ranges.append(range)
        }
    }
}
