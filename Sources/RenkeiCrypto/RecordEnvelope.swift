/// Envelope format v1 for record values:
///
///     0x01 | key version (UInt32 BE) | nonce (12) | ciphertext | tag (16)
///
/// The version travels in the clear so `open` can pick the key without
/// trying each one; it is also in the associated data so it cannot be
/// relabelled.
enum RecordEnvelope {
    static let formatV1: UInt8 = 0x01
    static let headerSize = 1 + 4
    static let nonceSize = 12
    static let tagSize = 16
    static let minimumSize = headerSize + nonceSize + tagSize

    static let aadLabel: [UInt8] = Array("renkei.record.v1".utf8)

    /// Associated data: label, then tenant code, column family and record key
    /// each prefixed with its UInt32 BE length (so no two contexts encode the
    /// same), then the key version.
    static func associatedData(_ context: RecordContext, version: UInt32) -> [UInt8] {
        // Sized exactly up front: one allocation per call, no regrowth.
        var tenant = context.tenantCode
        var family = context.columnFamily
        return tenant.withUTF8 { tenantBytes in
            family.withUTF8 { familyBytes in
                let count = aadLabel.count + 4 + tenantBytes.count + 4 + familyBytes.count
                    + 4 + context.recordKey.count + 4
                return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                    var i = 0
                    func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                        if bytes.count > 0 {
                            _ = UnsafeMutableBufferPointer(rebasing: buffer[i..<(i + bytes.count)])
                                .update(fromContentsOf: bytes)
                        }
                        i += bytes.count
                    }
                    func putUInt32(_ value: UInt32) {
                        buffer[i] = UInt8(truncatingIfNeeded: value >> 24)
                        buffer[i + 1] = UInt8(truncatingIfNeeded: value >> 16)
                        buffer[i + 2] = UInt8(truncatingIfNeeded: value >> 8)
                        buffer[i + 3] = UInt8(truncatingIfNeeded: value)
                        i += 4
                    }
                    aadLabel.withUnsafeBufferPointer { put($0) }
                    putUInt32(UInt32(tenantBytes.count))
                    put(tenantBytes)
                    putUInt32(UInt32(familyBytes.count))
                    put(familyBytes)
                    putUInt32(UInt32(context.recordKey.count))
                    context.recordKey.withUnsafeBufferPointer { put($0) }
                    putUInt32(version)
                    initialized = i
                }
            }
        }
    }

    /// The key version in an envelope's header, after checking the format
    /// byte and the minimum length.
    static func version(of envelope: [UInt8]) throws -> UInt32 {
        guard envelope.count >= minimumSize else {
            throw CryptoError(.malformedEnvelope,
                "record envelope is \(envelope.count) bytes, shorter than the minimum \(minimumSize); it was truncated or is not an encrypted value")
        }
        guard envelope[0] == formatV1 else {
            throw CryptoError(.malformedEnvelope,
                "record envelope has format byte \(envelope[0]), expected \(formatV1); it is not an encrypted value or was written by a newer version")
        }
        return UInt32(envelope[1]) << 24 | UInt32(envelope[2]) << 16 | UInt32(envelope[3]) << 8 | UInt32(envelope[4])
    }
}
