import Foundation
import MailCrypto

// `MailExitProbe [--default-cleanup]`: returns from `main` while three threads are hashing through
// libcrypto, as `mailroom worker` does when SIGTERM ends it mid-job. It starts the way every Mailroom
// executable starts (`CryptoRuntime.disableExitCleanup()`) unless `--default-cleanup` leaves OpenSSL's
// exit handler in place, which is what `CryptoRuntimeTests` compares against.
if !CommandLine.arguments.contains("--default-cleanup") {
    CryptoRuntime.disableExitCleanup()
}
let hashing = DispatchSemaphore(value: 0)
for _ in 0..<3 {
    let thread = Thread {
        var digest = [UInt8](repeating: 7, count: 64)
        digest = SHA256.hash(digest)
        hashing.signal()
        while true { digest = SHA256.hash(digest) }
    }
    thread.start()
}
// Every thread is inside its loop before `main` returns.
for _ in 0..<3 { hashing.wait() }
