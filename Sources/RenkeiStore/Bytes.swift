import CRocksDB

/// Calls `body` with a `const char*` view of `bytes` for the C API.
///
/// Never passes NULL: an empty array may have no storage, and RocksDB builds
/// a `Slice` from the pointer even for length 0.
@inline(__always)
func withCBytes<R>(
    _ bytes: [UInt8],
    _ body: (UnsafePointer<CChar>, Int) throws -> R
) rethrows -> R {
    try bytes.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else {
            return try withUnsafePointer(to: CChar(0)) { try body($0, 0) }
        }
        // UInt8 and CChar differ only in signedness, which Swift lets alias.
        return try body(UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), buffer.count)
    }
}

/// Copies `count` bytes at `pointer` into a new array.
@inline(__always)
func copyBytes(_ pointer: UnsafePointer<CChar>?, _ count: Int) -> [UInt8] {
    guard let pointer, count > 0 else { return [] }
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: pointer, byteCount: count)
        initialized = count
    }
}
