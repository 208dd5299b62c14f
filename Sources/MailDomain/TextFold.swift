import Foundation

/// Case folding for filter matching: canonical composition (NFC, so a decomposed "Ä" equals the
/// precomposed one) and full Unicode case folding ("ÄRGER" → "ärger", "STRASSE" ≈ "straße" → "strasse").
enum TextFold {
    static func fold(_ s: String) -> String {
        s.precomposedStringWithCanonicalMapping.folding(options: [.caseInsensitive, .widthInsensitive], locale: nil)
    }
}
