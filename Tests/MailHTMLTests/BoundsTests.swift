import Foundation
import Testing
import MailDomain
@testable import MailHTML

/// Oversized, deep and wide input falls back to escaped plain text, quickly.
@Suite struct BoundsTests {
    private func elapsed(_ body: () -> SanitizedHTML) -> (SanitizedHTML, Duration) {
        let clock = ContinuousClock()
        var result: SanitizedHTML!
        let d = clock.measure { result = body() }
        return (result, d)
    }

    @Test func oversizedInputIsNotParsed() {
        let html = "<p onclick=alert(1)>" + String(repeating: "<b>spam</b> & more ", count: 150_000) + "</p>"
        #expect(html.utf8.count > 2 << 20)
        let (r, d) = elapsed { sanitize(html, text: "Plain <text> version") }
        #expect(r.fallback?.code == .inputTooLarge)
        #expect(r.html == "<pre>Plain &lt;text&gt; version</pre>")
        #expect(d < .seconds(2))
    }

    @Test func oversizedInputWithoutTextBodyUsesItsOwnTextCut() {
        let html = "<p>" + String(repeating: "a<b>&lt;tag&gt;</b> ", count: 200_000) + "</p>"
        let (r, d) = elapsed { sanitize(html) }
        #expect(r.fallback?.code == .inputTooLarge)
        #expect(r.html.hasPrefix("<pre>a&lt;tag&gt; a&lt;tag&gt;"))
        #expect(r.html.hasSuffix("</pre>"))
        #expect(r.html.utf8.count <= (2 << 20) * 5 + 11)
        OutputCheck(r.html).expectSafe(input: "(oversized)")
        #expect(d < .seconds(5))
    }

    @Test(arguments: [201, 300, 5_000, 100_000])
    func absurdNestingFallsBack(depth: Int) {
        let html = String(repeating: "<div>", count: depth) + "deep <img src=x onerror=alert(1)>" + String(repeating: "</div>", count: depth)
        let (r, d) = elapsed { sanitize(html, text: "the text body") }
        #expect(r.fallback?.code == .tooDeep)
        #expect(r.html == "<pre>the text body</pre>")
        #expect(d < .seconds(3))
    }

    @Test func nestingWithinTheBudgetIsKept() {
        let html = String(repeating: "<div>", count: 150) + "deep" + String(repeating: "</div>", count: 150)
        let r = sanitize(html)
        #expect(r.fallback == nil)
        #expect(r.html == html)
    }

    @Test func unclosedNestingFallsBack() {
        let html = String(repeating: "<table><tr><td>", count: 2_000) + "x"
        let (r, d) = elapsed { sanitize(html) }
        #expect(r.fallback?.code == .tooDeep)
        #expect(r.html.hasPrefix("<pre>") && r.html.hasSuffix("x</pre>"))
        #expect(d < .seconds(3))
    }

    @Test func tooManyNodesFallsBack() {
        let html = String(repeating: "<b>x</b>", count: 120_000)
        let (r, d) = elapsed { sanitize(html) }
        #expect(r.fallback?.code == .tooManyNodes)
        #expect(r.html.hasPrefix("<pre>") && r.html.contains("x"))
        #expect(d < .seconds(3))
    }

    @Test func manyAttributesInOneTagAreRefusedBeforeParsing() {
        let attributes = (0..<60_000).map { " a\($0)=1" }.joined()
        let (r, d) = elapsed { sanitize("<p\(attributes)>x</p><p\(attributes)>y</p>") }
        #expect(d < .seconds(2))
        #expect(r.fallback?.code == .tooManyAttributes)
        #expect(r.html == "<pre>x\ny</pre>" || r.html.contains("x"))
    }

    @Test func customLimitsApply() {
        // Depth counts the <html> and <body> libxml2 implies.
        let s = HTMLSanitizer(remoteImages: .allow, limits: .init(maxInputBytes: 100, maxNodes: 10, maxDepth: 5))
        #expect(s.sanitize(html: String(repeating: "x", count: 101)).fallback?.code == .inputTooLarge)
        #expect(s.sanitize(html: "<div><div><div><div>x</div></div></div></div>").fallback?.code == .tooDeep)
        #expect(s.sanitize(html: "<div><div>x</div></div>").fallback == nil)
        #expect(s.sanitize(html: "<p>a</p><p>b</p><p>c</p><p>d</p><p>e</p><p>f</p>").fallback?.code == .tooManyNodes)
    }

    @Test func fallbackEscapesTheTextBody() {
        let s = HTMLSanitizer(remoteImages: .allow, limits: .init(maxInputBytes: 100))
        let html = "<p>" + String(repeating: "longer ", count: 20) + "</p>"
        let r = s.sanitize(html: html, textBody: "<script>alert(1)</script> & \"x\"")
        #expect(r.html == "<pre>&lt;script&gt;alert(1)&lt;/script&gt; &amp; \"x\"</pre>")
        #expect(r.fallback == HTMLError(code: .inputTooLarge, measured: html.utf8.count))
    }

    @Test func largeRealisticInputIsLinear() {
        let row = "<tr><td style=\"padding: 4px; color: #333\"><a href=\"https://shop.example/p?id=1&amp;x=2\">Item</a> &mdash; 9,99&nbsp;€</td></tr>"
        let html = "<table>" + String(repeating: row, count: 12_000) + "</table>"
        #expect(html.utf8.count < 2 << 20)
        let (r, d) = elapsed { sanitize(html) }
        #expect(r.fallback == nil)
        #expect(d < .seconds(3))
    }
}

/// The pre-parse scan never counts fewer attributes than libxml2 reads.
@Suite struct StartTagScanTests {
    private func units(_ s: String) -> Int {
        var s = s
        return s.withUTF8 { StartTagScan.maxUnits($0) } / StartTagScan.unitsPerAttribute
    }

    @Test func countsAttributesOfTheLargestTag() {
        #expect(units("<p>x</p>") == 0)
        #expect(units("<p a=1 b='2' c=\"3\" d>x</p><br x y>") == 4)
        #expect(units("<p a = \"1\" b>") == 2)
        #expect(units("<p a=\"1\"b=\"2\"c>") == 3)
    }

    @Test func quotedGreaterThanDoesNotEndTheTag() {
        #expect(units("<p a=\">\" b c d>") == 4)
    }

    @Test func tagsHiddenInCommentsAndValuesAreCountedToo() {
        // libxml2 may or may not read these as tags; the scan assumes it does.
        #expect(units("<!-- <p a b c d e> -->") >= 5)
        #expect(units("<script><a x=\"</script><p a b c d e f g>\"") >= 7)
        #expect(units("<p title=\"<b a b c d e f>\">") >= 6)
    }

    @Test func manyTagsEachWithinTheLimitPassQuickly() {
        let tag = "<td" + (0..<100).map { " a\($0)=\"1\"" }.joined() + ">x</td>"
        let html = "<table><tr>" + String(repeating: tag, count: 1_500) + "</tr></table>"
        #expect(html.utf8.count < 2 << 20)
        let clock = ContinuousClock()
        var r: SanitizedHTML!
        let d = clock.measure { r = sanitize(html) }
        #expect(r.fallback == nil || r.fallback?.code == .tooManyNodes)
        #expect(d < .seconds(5))
    }
}
