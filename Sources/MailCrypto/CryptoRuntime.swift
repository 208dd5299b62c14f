import CCrypto

/// libcrypto's process-wide set-up, done first thing in every executable's `main`.
public enum CryptoRuntime {
    /// Initialises libcrypto without its exit-time cleanup.
    ///
    /// By default OpenSSL 3 registers an `atexit` handler that frees its global locks and tables. A
    /// process that returns from `main` while another thread is still inside libcrypto (an IMAP
    /// session closing on its I/O thread, a token decrypted on the cooperative pool) then dies of
    /// SIGSEGV on a freed lock: a worker stopped by SIGTERM crashed that way instead of exiting 0.
    /// The OS reclaims the memory anyway. The first initialisation in a process decides, so this
    /// must run before libcurl or libpq touch OpenSSL.
    public static func disableExitCleanup() {
        let ok = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
        precondition(ok == 1, "libcrypto initialisation failed")
    }
}
