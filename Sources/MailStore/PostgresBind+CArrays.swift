import Foundation

extension Array where Element == PostgresBind {
    /// Lays the parameters out as libpq's `paramValues`, `paramLengths` and `paramFormats` arrays,
    /// valid only during `body` (libpq copies them before it returns).
    func withLibPQParameters<T, E: Error>(
        _ body: (_ count: Int32, _ values: UnsafePointer<UnsafePointer<CChar>?>?, _ lengths: [Int32], _ formats: [Int32]) throws(E) -> T
    ) throws(E) -> T {
        let n = count
        var values = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        var lengths = [Int32](repeating: 0, count: n)
        var formats = [Int32](repeating: 0, count: n)
        for (i, b) in enumerated() {
            switch b {
            case .null:
                values[i] = nil
            case .text(let s):
                values[i] = strdup(s)
            case .binary(let bytes):
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: Swift.max(bytes.count, 1))
                bytes.withUnsafeBufferPointer { src in
                    if let base = src.baseAddress {
                        UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: bytes.count)
                    }
                }
                values[i] = p
                lengths[i] = Int32(bytes.count)
                formats[i] = 1
            }
        }
        defer {
            for (i, b) in enumerated() {
                switch b {
                case .text: free(values[i])
                case .binary: values[i]?.deallocate()
                case .null: break
                }
            }
        }
        let result: Result<T, E> = values.withUnsafeBufferPointer { vp in
            vp.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: Swift.max(n, 1)) { pointer in
                Result { () throws(E) -> T in try body(Int32(n), n == 0 ? nil : UnsafePointer(pointer), lengths, formats) }
            }
        }
        return try result.get()
    }
}
