import MailMIME

/// libFuzzer target: raw message bytes through `MIMEParser` into `ParsedMessage`, touching every
/// decoded value (headers, addresses, bodies, attachments) and the content digest (`scripts/fuzz.sh mime`).
///
/// `MIMEError` is the expected answer to garbage; a trap, a hang or runaway memory is a finding.
/// Built with `-sanitize=fuzzer -D FUZZING`; without the flag it is a stub, so the normal build compiles.
enum MIMEFuzzer {
    static func run(_ bytes: [UInt8]) {
        guard let message = try? MIMEParser.parse(bytes) else { return }
        var total = message.textBody?.utf8.count ?? 0
        total += message.htmlBody?.utf8.count ?? 0
        for field in message.headers { total += field.name.utf8.count + field.value.utf8.count }
        for address in message.from + message.to + message.cc + message.bcc + message.replyTo + message.sender {
            total += String(describing: address).utf8.count
        }
        for attachment in message.attachments {
            total += attachment.data.count + (attachment.filename?.utf8.count ?? 0) + attachment.contentType.utf8.count
        }
        total += message.problems.count + message.references.count + message.inReplyTo.count
        _ = message.header("Subject")
        _ = message.contentDigest(raw: bytes)
        precondition(total >= 0)
    }
}

#if FUZZING
import CLibFuzzer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    MIMEFuzzer.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// SwiftPM links `main` to `FuzzMIME_main`: hand the command line to libFuzzer's driver.
@_cdecl("FuzzMIME_main")
public func fuzzMIMEMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzMIME(data, size) }
}
#else
@main enum MIMEFuzzerStub {
    static func main() {
        print("built without -sanitize=fuzzer: run `make fuzz` (scripts/fuzz.sh)")
    }
}
#endif
