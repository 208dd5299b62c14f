import MailProtocol

/// libFuzzer target: every entry point that reads server bytes (`scripts/fuzz.sh imap`).
///
/// Throwing is the expected answer to garbage; a trap, a hang or runaway memory is a finding.
/// Built with `-sanitize=fuzzer -D FUZZING`; without the flag it is a stub, so the normal build compiles.
enum IMAPFuzzer {
    static func run(_ bytes: [UInt8]) {
        _ = try? IMAPResponse.parseStream(bytes)
        _ = try? IMAPResponse.parseCompleteResponses(bytes)
        _ = try? IMAPResponseParser.completedResponses(bytes)
        _ = try? IMAPResponseParser.mailboxStatus(bytes)
        _ = try? IMAPResponseParser.mailboxStatus(bytes, mailbox: "INBOX")
        _ = try? IMAPResponseParser.searchUIDs(bytes)
        _ = try? IMAPResponseParser.eSearch(bytes)
        _ = try? IMAPResponseParser.fetchMetadata(bytes)
        _ = IMAPResponseParser.capabilities(bytes)
        _ = try? IMAPResponseParser.listMailboxes(bytes)
        _ = try? IMAPResponseParser.appendUID(bytes)
        // Small pure parsers that also see server text: mailbox names, UID sets, INTERNALDATE.
        if bytes.count < 512 {
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? ModifiedUTF7.decode(text)
            _ = try? UIDSet(parsing: text)
            _ = IMAPDate.parseDateTime(text)
        }
    }
}

#if FUZZING
import CLibFuzzer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIMAP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    IMAPFuzzer.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// SwiftPM links `main` to `FuzzIMAP_main`: hand the command line to libFuzzer's driver.
@_cdecl("FuzzIMAP_main")
public func fuzzIMAPMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzIMAP(data, size) }
}
#else
@main enum IMAPFuzzerStub {
    static func main() {
        print("built without -sanitize=fuzzer: run `make fuzz` (scripts/fuzz.sh)")
    }
}
#endif
