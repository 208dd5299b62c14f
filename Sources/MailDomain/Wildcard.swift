/// Wildcard patterns: `*` matches any run of characters (also none); everything else matches itself,
/// case-insensitively (both sides folded by `TextFold`). Characters are grapheme clusters, so a
/// pattern never splits "é" or an emoji.
public struct Wildcard: Sendable, Equatable {
    /// Folded literal pieces between the stars.
    let pieces: [[Character]]
    let anchoredStart: Bool
    let anchoredEnd: Bool

    public init(_ pattern: String) {
        let folded = TextFold.fold(pattern)
        pieces = folded.split(separator: "*", omittingEmptySubsequences: false).map { Array($0) }
        anchoredStart = !folded.hasPrefix("*")
        anchoredEnd = !folded.hasSuffix("*")
    }

    /// Whether the pattern matches all of `text` (not folded yet).
    public func matches(_ text: String) -> Bool { matchesFolded(Array(TextFold.fold(text))) }

    /// Whether the pattern matches all of an already folded text.
    func matchesFolded(_ text: [Character]) -> Bool {
        if pieces.count == 1 { return pieces[0] == text }  // no star: equality
        var start = 0
        var end = text.count
        let first = pieces[0], last = pieces[pieces.count - 1]
        if anchoredStart {
            guard text.count >= first.count, Array(text[0..<first.count]) == first else { return false }
            start = first.count
        }
        if anchoredEnd {
            guard end - start >= last.count, Array(text[(end - last.count)..<end]) == last else { return false }
            end -= last.count
        }
        // The middle pieces, leftmost first: greedy leftmost placement is optimal for `*` alone.
        for piece in pieces.dropFirst().dropLast() where !piece.isEmpty {
            guard let at = Self.find(piece, in: text, from: start, to: end) else { return false }
            start = at + piece.count
        }
        return start <= end
    }

    static func find(_ needle: [Character], in hay: [Character], from: Int, to: Int) -> Int? {
        guard to - from >= needle.count else { return nil }
        var i = from
        while i + needle.count <= to {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
