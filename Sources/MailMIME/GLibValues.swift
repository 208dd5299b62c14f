import CGMime

/// Conversions from C values GMime hands out into Swift values, with the ownership rule of each
/// spelled out: `borrowed` strings belong to GMime, `taken` strings and arrays are freed here.
enum GLibValues {
    /// A string GMime keeps ownership of, as UTF-8 (invalid sequences become U+FFFD).
    static func borrowed(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// A newly allocated string we own: converted, then released with `g_free`.
    static func taken(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        defer { g_free(pointer) }
        return String(cString: pointer)
    }

    /// A `GByteArray` we own: copied out, then released with `g_byte_array_free`.
    static func taken(_ array: UnsafeMutablePointer<GByteArray>) -> [UInt8] {
        defer { g_byte_array_free(array, 1) }
        guard let data = array.pointee.data, array.pointee.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(array.pointee.len)))
    }

    /// A borrowed value that is nil, empty or only whitespace becomes nil.
    static func nonEmpty(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let value = borrowed(pointer)?.trimmingWhitespace(), !value.isEmpty else { return nil }
        return value
    }
}
