/// An upper bound on the attributes of any start tag libxml2 could read in the input, computed
/// before libxml2 sees it.
///
/// libxml2 2.9's HTML parser checks each new attribute of a start tag against all earlier ones
/// (`htmlParseStartTag`) and appends it at the end of the node's list: quadratic in the attributes
/// of one tag. Measured here: 20,000 attributes in one tag take 0.8 s, 80,000 take 14 s, and 2 MiB
/// holds 300,000. The input ceiling does not bound that, so this scan does.
///
/// It runs libxml2's attribute tokenizer (`htmlParseStartTag`, `htmlParseAttribute`,
/// `htmlParseHTMLName`, `htmlParseAttValue`: names, blanks, `=`, quoted and unquoted values, bogus
/// attributes skipped to the next blank, `>` and `/>` ending the tag) from **every** `<` in the
/// input, whether or not libxml2 would be in a tag there (inside a comment, a script, a quoted
/// value): that over-approximates, never under-counts. It is one backward pass over the bytes:
/// the count from a position in a given tokenizer state depends only on the count from the next
/// position, so all the starting points share the work (linear time, constant memory).
///
/// The count is in units: 100 per attribute, plus 1 per character of a name (libxml2 cuts names at
/// 100 characters and reads the rest as a further attribute, which these units cover).
enum StartTagScan {
    static let unitsPerAttribute = 100

    /// The largest unit count of a start tag beginning anywhere in `bytes`.
    static func maxUnits(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        // Counts from position i+1, per tokenizer state (0 past the end).
        var dq = 0, sq = 0, unquoted = 0, bogus = 0, valueStart = 0, loop = 0, afterName = 0, name = 0, tagName = 0
        var nextIsGT = false
        var worst = 0
        var i = bytes.count
        while i > 0 {
            i -= 1
            let c = bytes[i]
            let blank = c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D
            let end = c == UInt8(ascii: ">") || c == 0
            let slashEnd = c == UInt8(ascii: "/") && nextIsGT
            let letter = (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
            let nameStart = letter || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c == UInt8(ascii: ".")
            let nameChar = nameStart || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-")

            // Inside a quoted value: only the closing quote (or the end of input) ends it.
            let dqHere = c == UInt8(ascii: "\"") ? loop : (c == 0 ? 0 : dq)
            let sqHere = c == UInt8(ascii: "'") ? loop : (c == 0 ? 0 : sq)
            // The loop state at i+1 is needed by the closing quotes above: `loop` still holds it.
            let unquotedHere = end ? 0 : (blank ? loop : unquoted)
            let bogusHere = end || slashEnd ? 0 : (blank ? loop : bogus)
            let loopHere: Int
            if blank {
                loopHere = loop
            } else if end || slashEnd {
                loopHere = 0
            } else if nameStart {
                loopHere = unitsPerAttribute + 1 + name
            } else {
                loopHere = bogusHere
            }
            let valueStartHere = blank ? valueStart
                : c == UInt8(ascii: "\"") ? dq : c == UInt8(ascii: "'") ? sq : unquotedHere
            let afterNameHere = blank ? afterName : (c == UInt8(ascii: "=") ? valueStart : loopHere)
            let nameHere = nameChar ? 1 + name : afterNameHere
            let tagNameHere = nameChar ? 1 + tagName : loopHere

            if c == UInt8(ascii: "<") { worst = max(worst, tagName) }
            dq = dqHere; sq = sqHere; unquoted = unquotedHere; bogus = bogusHere; valueStart = valueStartHere
            loop = loopHere; afterName = afterNameHere; name = nameHere; tagName = tagNameHere
            nextIsGT = c == UInt8(ascii: ">")
        }
        return worst
    }
}
