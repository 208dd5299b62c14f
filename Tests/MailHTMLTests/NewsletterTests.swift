import Foundation
import Testing
import MailDomain
@testable import MailHTML

/// Real-shaped newsletters stay readable: text, tables, links, images and allowed inline styles
/// survive; only what the allow-list removes goes.
@Suite struct NewsletterTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    @Test func productNewsletterKeepsItsLayout() throws {
        let html = try Self.load("product-newsletter.html")
        let r = sanitize(html, .allow)
        #expect(r.fallback == nil)
        let check = OutputCheck(r.html)
        check.expectSafe(input: "product-newsletter.html")
        let out = r.html
        // Text, in order, with entities kept as characters.
        #expect(out.contains("Up to 40% off jackets, boots &amp; tents – this weekend only."))
        #expect(out.contains("<h1 style=\"margin: 0 0 16px 0; font-size: 28px; line-height: 34px; font-weight: bold; color: #1d3b2a\">Winter Sale: up to 40% off</h1>"))
        #expect(out.contains("Stock up on <strong>insulated jackets</strong>, <em>waterproof boots</em>"))
        #expect(out.contains("Acme Outdoor GmbH · Bergstraße 12 · 80331 München"))
        #expect(out.contains("<s>€249.00</s> <span style=\"color: #c0392b; font-weight: bold\">€149.40</span>"))
        // Tables with their presentational attributes.
        #expect(check.attributes(of: "table").count == 4)
        #expect(check.attributes(of: "table").contains { $0["width"] == "600" && $0["cellpadding"] == "0" && $0["style"]?.contains("max-width: 600px") == true })
        #expect(check.attributes(of: "td").contains { $0["bgcolor"] == "#e67e22" && $0["style"] == "border-radius: 4px" })
        // Links, all opening outside with no referrer; the query string intact.
        let links = check.attributes(of: "a")
        #expect(links.count == 6)
        #expect(links.allSatisfy { $0["rel"] == "noopener noreferrer nofollow" && $0["target"] == "_blank" })
        #expect(links.contains { $0["href"] == "https://www.acme-outdoor.example/?utm_source=newsletter&utm_medium=email" })
        #expect(links.contains { $0["href"] == "mailto:service@acme-outdoor.example" })
        // Images, tracking pixel included under 'allow'.
        let images = check.attributes(of: "img")
        #expect(images.count == 5)
        #expect(images.contains { $0["src"] == "https://cdn.acme-outdoor.example/img/hero-winter.jpg" && $0["alt"] == "Winter Sale: up to 40% off" })
        #expect(images.contains { $0["src"] == "https://t.acme-outdoor.example/open?u=8f3a&c=winter" })
        // Gone: head, style block, class, role, conditional comments.
        #expect(!out.contains("@media") && !out.contains("class=") && !out.contains("role=") && !out.contains("mso"))
        #expect(!out.contains("<title") && !out.contains("Acme Outdoor – Winter Sale"))
    }

    @Test func productNewsletterWithRemoteImagesBlocked() throws {
        let r = sanitize(try Self.load("product-newsletter.html"), .block)
        let check = OutputCheck(r.html)
        check.expectSafe(input: "product-newsletter.html (block)")
        let images = check.attributes(of: "img")
        #expect(images.count == 5)
        #expect(images.allSatisfy { $0["src"] == nil && $0["data-blocked-src"]?.hasPrefix("https://") == true })
        #expect(r.html.contains("Shop the sale"))
    }

    @Test func communityDigestKeepsTextListsTableAndInlineImage() throws {
        let r = sanitize(try Self.load("community-digest.html"), .block)
        #expect(r.fallback == nil)
        let check = OutputCheck(r.html)
        check.expectSafe(input: "community-digest.html")
        let out = r.html
        #expect(out.contains("<center>\n<table width=\"640\" border=\"0\" cellspacing=\"0\" cellpadding=\"0\" style=\"font-family: Georgia, 'Times New Roman', serif; font-size: 15px; color: #222\">"))
        #expect(out.contains("<font face=\"Georgia\" size=\"5\" color=\"#0b5394\"><b>The Weekly Commons</b></font><br>"))
        #expect(out.contains("<u>every Saturday, 10:00–14:00</u>"))
        #expect(out.contains("bikes &amp; jeans"))
        #expect(out.contains("“We fixed 41 items last month and kept 60\u{A0}kg out of landfill.” — Priya, volunteer</blockquote>"))
        #expect(out.contains("<h2 style=\"font-size: 20px; margin: 24px 0 8px\">2. New working groups</h2>"))
        #expect(check.attributes(of: "li").count == 3)
        #expect(out.contains("<th align=\"right\">Yes</th>"))
        #expect(out.contains("<td colspan=\"3\" style=\"font-size: 12px; color: #777\">312 responses</td>"))
        #expect(out.contains("<img src=\"cid:chart@commons\" alt=\"Survey chart\" width=\"600\">"))
        #expect(out.contains("<a href=\"tel:+49301234567\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">+49 30 1234567</a>"))
        // The form's text stays, its controls and the script go.
        #expect(out.contains("Coming to the general meeting?"))
        #expect(!out.contains("<input") && !out.contains("<button") && !out.contains("RSVP") && !out.contains("dataLayer"))
        #expect(!out.contains("onclick"))
    }

    @Test func sanitisingIsIdempotent() throws {
        for name in ["product-newsletter.html", "community-digest.html"] {
            // libxml2 drops the whitespace before the first element of a body: compare after it.
            let once = String(sanitize(try Self.load(name), .allow).html.drop { $0.isWhitespace })
            let twice = sanitize(once, .allow).html
            if twice != once {
                let a = Array(once.utf8), b = Array(twice.utf8)
                let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
                Issue.record("differs at \(i): \(String(decoding: a[max(0, i - 80)..<min(a.count, i + 80)], as: UTF8.self)) VS \(String(decoding: b[max(0, i - 80)..<min(b.count, i + 80)], as: UTF8.self))")
            }
        }
    }
}
