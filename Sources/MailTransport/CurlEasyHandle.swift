import CCurl

/// `curl_global_init` exactly once per process, before the first handle (a global `let` is
/// initialised once, thread-safely, on first use).
let curlGlobalInitResult: Int = Int(curl_global_init(Int(CURL_GLOBAL_ALL)).rawValue)

/// The bytes one `curl_easy_perform` moved: what the write callback got (a message body), the
/// exact server byte stream the header callback got, and the upload source.
final class CurlTransfer {
    var body: [UInt8] = []
    var header: [UInt8] = []
    let upload: [UInt8]
    var uploadOffset = 0
    /// Cap on body + header bytes; beyond it the callbacks refuse data and libcurl aborts (23).
    let limit: Int
    var exceededLimit = false
    /// Cap on the body alone (a message fetch's size limit); nil: only `limit` applies.
    let bodyLimit: Int?
    var exceededBodyLimit = false

    init(upload: [UInt8] = [], limit: Int, bodyLimit: Int? = nil) {
        self.upload = upload
        self.limit = limit
        self.bodyLimit = bodyLimit
    }
}

/// The one owner of a `CURL*` easy handle and its error buffer; frees both in `deinit`.
/// Not thread-safe: used by one thread at a time. Every handle checks the sockets it opens against
/// an outbound policy (there is no handle without one).
final class CurlEasyHandle {
    let raw: UnsafeMutableRawPointer
    /// The outbound policy check of every socket (see `install`); kept alive as long as the handle.
    let outboundGuard: OutboundGuard
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init(outbound: OutboundGuard) throws {
        guard curlGlobalInitResult == Int(CURLE_OK.rawValue), let handle = curl_easy_init() else {
            throw TransportError(.protocolError, detail: "libcurl could not be initialised")
        }
        raw = handle
        outboundGuard = outbound
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_WRITEFUNCTION, callback: curlWriteBody)
        try set(CURLOPT_HEADERFUNCTION, callback: curlWriteHeader)
        try set(CURLOPT_READFUNCTION, callback: curlReadUpload)
        try installOutboundGuard()
    }

    deinit {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(mr_curl_setopt_long(raw, option, value), option)
    }

    func set(_ option: CURLoption, _ value: String?) throws {
        // libcurl copies string options (CURLOPT_POSTFIELDS aside), so a temporary C string is fine.
        if let value {
            try value.withCString { try check(mr_curl_setopt_string(raw, option, $0), option) }
        } else {
            try check(mr_curl_setopt_string(raw, option, nil), option)
        }
    }

    func set(_ option: CURLoption, offset value: Int) throws {
        try check(mr_curl_setopt_off(raw, option, curl_off_t(value)), option)
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(mr_curl_setopt_pointer(raw, option, pointer), option)
    }

    private func set(_ option: CURLoption, callback: mr_curl_data_cb) throws {
        try check(mr_curl_setopt_datacb(raw, option, callback), option)
    }

    func info(_ item: CURLINFO) -> Int {
        var value = 0
        _ = mr_curl_getinfo_long(raw, item, &value)
        return value
    }

    /// Runs one transfer into `transfer`; returns libcurl's code and its error text.
    func perform(_ transfer: CurlTransfer) -> (code: CURLcode, message: String) {
        errorBuffer[0] = 0
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        // Context pointers are valid only during this call; they are reset before returning.
        _ = mr_curl_setopt_pointer(raw, CURLOPT_WRITEDATA, context)
        _ = mr_curl_setopt_pointer(raw, CURLOPT_HEADERDATA, context)
        _ = mr_curl_setopt_pointer(raw, CURLOPT_READDATA, context)
        let code = withExtendedLifetime(transfer) { curl_easy_perform(raw) }
        _ = mr_curl_setopt_pointer(raw, CURLOPT_WRITEDATA, nil)
        _ = mr_curl_setopt_pointer(raw, CURLOPT_HEADERDATA, nil)
        _ = mr_curl_setopt_pointer(raw, CURLOPT_READDATA, nil)
        var message = String(cString: errorBuffer)
        if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
        return (code, message)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            throw TransportError(.protocolError, curlCode: Int(code.rawValue),
                                 detail: "setting libcurl option \(option.rawValue) failed")
        }
    }
}

// Non-capturing C callbacks: the context arrives through the *DATA pointer.

private func curlWriteBody(_ data: UnsafeMutablePointer<CChar>, _ size: Int, _ count: Int,
                           _ context: UnsafeMutableRawPointer) -> Int {
    Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue().accept(data, size * count, into: \.body)
}

private func curlWriteHeader(_ data: UnsafeMutablePointer<CChar>, _ size: Int, _ count: Int,
                             _ context: UnsafeMutableRawPointer) -> Int {
    Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue().accept(data, size * count, into: \.header)
}

extension CurlTransfer {
    /// Appends what libcurl delivered, or refuses it (returning 0 makes libcurl abort the transfer)
    /// once the response outgrows the session's limit.
    fileprivate func accept(_ data: UnsafeMutablePointer<CChar>, _ length: Int,
                            into buffer: ReferenceWritableKeyPath<CurlTransfer, [UInt8]>) -> Int {
        if buffer == \CurlTransfer.body, let bodyLimit, body.count + length > bodyLimit {
            // Whatever size the server announced: stop as soon as the body passes the limit.
            exceededBodyLimit = true
            return 0
        }
        guard body.count + header.count + length <= limit else {
            exceededLimit = true
            return 0
        }
        self[keyPath: buffer].append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
        return length
    }
}

private func curlReadUpload(_ buffer: UnsafeMutablePointer<CChar>, _ size: Int, _ count: Int,
                            _ context: UnsafeMutableRawPointer) -> Int {
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = min(size * count, transfer.upload.count - transfer.uploadOffset)
    guard length > 0 else { return 0 }
    transfer.upload.withUnsafeBytes { source in
        UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + transfer.uploadOffset, byteCount: length)
    }
    transfer.uploadOffset += length
    return length
}

extension CurlEasyHandle {
    /// TLS and timeouts, the same for IMAP and SMTP.
    func setSecurityAndTimeouts(_ security: TransportSecurity, verifyTLS: Bool, caFile: String?, connectTimeout: Duration,
                                ioTimeout: Duration) throws {
        switch security {
        case .none: try set(CURLOPT_USE_SSL, Int(CURLUSESSL_NONE.rawValue))
        // Without CURLUSESSL_ALL libcurl logs in over plain text when STARTTLS is missing.
        case .starttls, .tls: try set(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
        }
        try setVerification(verifyTLS, caFile: caFile)
        // libcurl has no default timeouts: a stalled server would hang the thread forever.
        try set(CURLOPT_CONNECTTIMEOUT_MS, max(1, milliseconds(connectTimeout)))
        let ioSeconds = max(1, (milliseconds(ioTimeout) + 999) / 1000)
        try set(CURLOPT_LOW_SPEED_LIMIT, 1)
        try set(CURLOPT_LOW_SPEED_TIME, ioSeconds)
        try set(CURLOPT_SERVER_RESPONSE_TIMEOUT, ioSeconds)
    }

    /// Certificate and host-name checks, trusting `caFile` (the operator's `MAILROOM_TLS_CA_FILE`)
    /// besides the system store: `CURLOPT_CAINFO` replaces only the default bundle file, the system's
    /// certificate directory (`CURLOPT_CAPATH`) stays.
    func setVerification(_ verifyTLS: Bool, caFile: String?) throws {
        try set(CURLOPT_SSL_VERIFYPEER, verifyTLS ? 1 : 0)
        try set(CURLOPT_SSL_VERIFYHOST, verifyTLS ? 2 : 0)
        if verifyTLS, let caFile { try set(CURLOPT_CAINFO, caFile) }
    }

    /// The kind of failure for the libcurl codes that mean the same for every protocol: connecting,
    /// timing out, TLS. Nil for codes each protocol reads its own way.
    static func transportKind(_ code: CURLcode) -> TransportError.Code? {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_PROXY:
            return .connectFailed
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_USE_SSL_FAILED, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE:
            return .tlsFailed
        default:
            return nil
        }
    }
}

func milliseconds(_ duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
}
