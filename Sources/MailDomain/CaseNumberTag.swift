/// The case number quoted in a subject as `[#N]` (how Mailroom and EspoCRM tag case mail).
public enum CaseNumberTag {
    /// The number of the first well-formed `[#N]` tag (N: 1 to 18 decimal digits, no sign, no spaces),
    /// or nil. `Re: [#42] printer` → 42; `[# 42]`, `[#]`, `[#4x2]` are not tags.
    public static func parse(_ subject: String?) -> Int64? {
        guard let subject else { return nil }
        let chars = Array(subject.utf8)
        var i = 0
        while i + 3 < chars.count {
            if chars[i] == UInt8(ascii: "["), chars[i + 1] == UInt8(ascii: "#") {
                var j = i + 2
                var value: Int64 = 0
                while j < chars.count, j - (i + 2) < 18, chars[j] >= UInt8(ascii: "0"), chars[j] <= UInt8(ascii: "9") {
                    value = value * 10 + Int64(chars[j] - UInt8(ascii: "0"))
                    j += 1
                }
                if j > i + 2, j < chars.count, chars[j] == UInt8(ascii: "]"), value > 0 { return value }
            }
            i += 1
        }
        return nil
    }
}
