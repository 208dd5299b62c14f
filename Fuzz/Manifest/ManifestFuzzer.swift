import MailProvisioning

/// libFuzzer target: manifest YAML text to a validated `Manifest`, no database (`scripts/fuzz.sh manifest`).
///
/// Diagnostics are the expected answer to garbage; a trap, a hang or runaway memory is a finding.
/// Built with `-sanitize=fuzzer -D FUZZING`; without the flag it is a stub, so the normal build compiles.
enum ManifestFuzzer {
    /// `env:` references resolve against these, so inputs can reach the secret-handling paths.
    static let environment = ["PW": "secret", "SMTP_PW": "other-secret", "EMPTY": ""]

    static func run(_ bytes: [UInt8]) {
        let yaml = String(decoding: bytes, as: UTF8.self)
        switch ManifestParser.check(yaml, environment: environment) {
        case .success(let manifest): _ = String(describing: manifest)
        case .failure(let errors): _ = errors.errors.map(\.description)
        }
    }
}

#if FUZZING
import CLibFuzzer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ManifestFuzzer.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// SwiftPM links `main` to `FuzzManifest_main`: hand the command line to libFuzzer's driver.
@_cdecl("FuzzManifest_main")
public func fuzzManifestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzManifest(data, size) }
}
#else
@main enum ManifestFuzzerStub {
    static func main() {
        print("built without -sanitize=fuzzer: run `make fuzz` (scripts/fuzz.sh)")
    }
}
#endif
