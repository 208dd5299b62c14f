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
        framer(bytes)
        // Small pure parsers that also see server text: mailbox names, UID sets, INTERNALDATE.
        if bytes.count < 512 {
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? ModifiedUTF7.decode(text)
            _ = try? UIDSet(parsing: text)
            _ = IMAPDate.parseDateTime(text)
        }
    }

    /// The incremental framer as the client drives it: the bytes in reads of a size taken from
    /// the first byte, each response parsed as a FETCH or STATUS answer. Framing must not depend
    /// on how the bytes were cut: the same input whole must give the same responses and bodies.
    static func framer(_ bytes: [UInt8]) {
        let step = max(1, Int(bytes.first ?? 1))
        let cut = frame(stride(from: 0, to: bytes.count, by: step).map { Array(bytes[$0..<min($0 + step, bytes.count)]) })
        let whole = frame([bytes])
        precondition(cut == whole, "the framer's output depends on how the input was cut")
    }

    private static func frame(_ reads: [[UInt8]]) -> [[UInt8]] {
        var framer = IMAPResponseFramer(maxResponseBytes: 1 << 16)
        var out: [[UInt8]] = []
        var body: [UInt8] = []
        do {
            for chunk in reads {
                framer.buffer.append(contentsOf: chunk)
                while let event = try framer.next() {
                    switch event {
                    case .response(let response):
                        out.append(response)
                        if let parsed = try? IMAPResponse.parseStream(response), let first = parsed.first {
                            _ = try? IMAPFetchResponse(first)
                            _ = try? IMAPStatusResponse(first)
                        }
                    case .bodyStart: body = []
                    case .bodyBytes(let slice): body.append(contentsOf: slice)
                    case .bodyEnd: out.append(body)
                    }
                }
            }
        } catch {
            out.append(Array("error".utf8))
        }
        return out
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
