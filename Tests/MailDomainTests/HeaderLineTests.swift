import MailDomain
import Testing

@Suite struct HeaderLineTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("Hi\r\nBcc: x@y", "Hi Bcc: x@y"),
        ("a\nb\rc", "a b c"),
        ("a\r\n\r\n\nb", "a b"),
        ("nul\0inside", "nulinside"),
        ("a\r\0\nb", "a b"),
        ("\r\nlead and trail\n", " lead and trail "),
        ("Grüße\r\n日本", "Grüße 日本"),
    ])
    func unfoldsEveryLineBreakRun(input: String, expected: String) {
        #expect(HeaderLine.unfold(input) == expected)
        #expect(!HeaderLine.unfold(input).contains { $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
    }
}
