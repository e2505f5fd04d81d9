import CLZ4

/// Whole-buffer LZ4 *frame* compression, as the stock `lz4` tool reads and
/// writes it.
///
/// Frames are written with both checksums on: a 32-bit xxHash of each
/// compressed block (so a damaged block is caught before it is decoded) and
/// one of the whole content (so damage anywhere is caught at the end).
/// Content size is recorded in the header, which lets `decompress` refuse an
/// oversized frame before allocating anything.
public enum LZ4Frame {
    /// Compresses `bytes` into one LZ4 frame.
    public static func compress(_ bytes: [UInt8]) throws(VaultError) -> [UInt8] {
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.blockSizeID = LZ4F_max256KB
        prefs.frameInfo.blockMode = LZ4F_blockLinked
        prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled
        prefs.frameInfo.contentSize = UInt64(bytes.count)
        prefs.compressionLevel = 0
        let bound = LZ4F_compressFrameBound(bytes.count, &prefs)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                LZ4F_compressFrame(dst.baseAddress, dst.count, src.baseAddress, src.count, &prefs)
            }
        }
        if LZ4F_isError(written) != 0 {
            throw VaultError(.io, "LZ4 compression failed: \(String(cString: LZ4F_getErrorName(written)))")
        }
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses exactly one LZ4 frame, verifying its block and content
    /// checksums.
    ///
    /// - Parameters:
    ///   - frame: the whole frame; trailing bytes after it are refused.
    ///   - maxBytes: the most decompressed bytes accepted. A frame that
    ///     declares or produces more fails with `.limit` instead of growing
    ///     memory without bound.
    ///   - what: names the frame (a file name) in error messages.
    /// - Throws: `.corrupt` for a damaged, truncated or checksum-less frame,
    ///   `.limit` for an oversized one.
    public static func decompress(_ frame: [UInt8], maxBytes: Int, what: String) throws(VaultError) -> [UInt8] {
        var dctx: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&dctx, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let dctx else {
            throw VaultError(.io, "cannot create an LZ4 decompression context")
        }
        defer { LZ4F_freeDecompressionContext(dctx) }

        let result = frame.withUnsafeBytes { (src: UnsafeRawBufferPointer) -> Result<[UInt8], VaultError> in
            Result { () throws(VaultError) -> [UInt8] in try decode(src, dctx: dctx, maxBytes: maxBytes, what: what) }
        }
        return try result.get()
    }

    private static func decode(_ src: UnsafeRawBufferPointer, dctx: OpaquePointer, maxBytes: Int, what: String) throws(VaultError) -> [UInt8] {
        guard let base = src.baseAddress, src.count > 0 else {
            throw VaultError(.corrupt, "\(what) is empty, not an LZ4 frame")
        }
        // The header first: checksums must be on, and a declared size
        // must fit the bound before any output is allocated.
        var info = LZ4F_frameInfo_t()
        var consumed = src.count
        let hint = LZ4F_getFrameInfo(dctx, &info, base, &consumed)
        if LZ4F_isError(hint) != 0 {
            throw VaultError(.corrupt, "\(what) has no valid LZ4 frame header: \(String(cString: LZ4F_getErrorName(hint)))")
        }
        guard info.contentChecksumFlag == LZ4F_contentChecksumEnabled else {
            throw VaultError(.corrupt, "\(what) is an LZ4 frame without a content checksum; the vault writes none such")
        }
        if info.contentSize > UInt64(maxBytes) {
            throw VaultError(.limit, "\(what) declares \(info.contentSize) decompressed bytes, more than the limit of \(maxBytes)")
        }

        var out: [UInt8] = []
        out.reserveCapacity(Int(info.contentSize))
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        var offset = consumed
        var remaining = hint
        while remaining != 0 {
            var srcSize = src.count - offset
            var dstSize = chunk.count
            if srcSize == 0 {
                throw VaultError(.corrupt, "\(what) is a truncated LZ4 frame (it ends before its end mark)")
            }
            let result = chunk.withUnsafeMutableBytes { dst in
                LZ4F_decompress(dctx, dst.baseAddress, &dstSize, base + offset, &srcSize, nil)
            }
            if LZ4F_isError(result) != 0 {
                throw VaultError(.corrupt, "\(what) fails LZ4 decoding: \(String(cString: LZ4F_getErrorName(result)))")
            }
            offset += srcSize
            if out.count + dstSize > maxBytes {
                throw VaultError(.limit, "\(what) decompresses to more than the limit of \(maxBytes) bytes")
            }
            out.append(contentsOf: chunk[0..<dstSize])
            remaining = result
        }
        guard offset == src.count else {
            throw VaultError(.corrupt, "\(what) has \(src.count - offset) bytes after its LZ4 frame")
        }
        if info.contentSize != 0, UInt64(out.count) != info.contentSize {
            throw VaultError(.corrupt, "\(what) decompressed to \(out.count) bytes, its header declares \(info.contentSize)")
        }
        return out
    }
}
