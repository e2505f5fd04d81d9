import Crypto

extension TenantKeyring {
    /// A short identifier of this exact keyring, safe to show and log: 16 hex
    /// characters of SHA-256 over a domain label, the tenant code and every
    /// key (purpose, version, bytes), in a fixed order.
    ///
    /// It names a keyring without revealing it (the keys are 256-bit random
    /// values, so the hash cannot be inverted or guessed). It changes when a
    /// data key version is added, so a recovery kit exported before a
    /// rotation shows a different fingerprint than the node after it.
    public var fingerprint: String {
        var hasher = SHA256()
        hasher.update(data: Array("renkei.tenant-keyring.fingerprint.v1".utf8) + [0] + Array(tenantCode.utf8) + [0])
        for (purpose, keys) in [(KeyringPayload.dataPurpose, dataKeys), (KeyringPayload.indexPurpose, indexKeys)] {
            for version in keys.keys.sorted() {
                hasher.update(data: [purpose] + KeyringPayload.bigEndian(version))
                keys[version]!.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            }
        }
        return String(hexEncode(hasher.finalize()).prefix(16))
    }
}

/// The plaintext a recovery kit seals: one keyring's key material, in a small
/// binary format with exact lengths (so parsing it needs no JSON and leaves
/// no key material in intermediate strings).
///
/// ```
/// u8  format (1)
/// u32 current data key version (big-endian)
/// u16 number of keys
/// per key: u8 purpose (0 data, 1 index), u32 version, 32 bytes key
/// ```
enum KeyringPayload {
    static let format: UInt8 = 1
    static let dataPurpose: UInt8 = 0
    static let indexPurpose: UInt8 = 1
    static let keyBytes = 32
    static let entryBytes = 1 + 4 + keyBytes
    /// Far more versions than rotation will ever make; bounds what a kit may hold.
    static let maximumKeys = 1024

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16),
         UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// The payload of `keyring`. The caller wipes it after sealing.
    static func encode(_ keyring: TenantKeyring) -> [UInt8] {
        let count = keyring.dataKeys.count + keyring.indexKeys.count
        precondition(count <= maximumKeys, "a keyring holds at most \(maximumKeys) keys")
        var out: [UInt8] = [format] + bigEndian(keyring.currentDataKeyVersion)
            + [UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count)]
        out.reserveCapacity(out.count + count * entryBytes)
        for (purpose, keys) in [(dataPurpose, keyring.dataKeys), (indexPurpose, keyring.indexKeys)] {
            for version in keys.keys.sorted() {
                out.append(purpose)
                out.append(contentsOf: bigEndian(version))
                keys[version]!.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// Parses a payload made by `encode`. Only ever called on plaintext that
    /// authenticated, so a failure here means a kit made by other software
    /// (or a bug), never a guessable oracle; still it must not crash.
    static func decode(_ bytes: [UInt8], tenantCode: String) throws -> TenantKeyring {
        func malformed(_ why: String) -> CryptoError {
            CryptoError(.recoveryKitMalformed, "the recovery kit of tenant \(tenantCode) opened, but its keys are malformed: \(why)")
        }
        func u32(_ i: Int) -> UInt32 {
            UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
        }
        guard bytes.count >= 7, bytes[0] == format else { throw malformed("unknown key format") }
        let current = u32(1)
        let count = Int(bytes[5]) << 8 | Int(bytes[6])
        guard count <= maximumKeys, bytes.count == 7 + count * entryBytes else {
            throw malformed("the key list has the wrong length")
        }
        var dataKeys: [UInt32: SymmetricKey] = [:]
        var indexKeys: [UInt32: SymmetricKey] = [:]
        for i in 0..<count {
            let at = 7 + i * entryBytes
            let version = u32(at + 1)
            guard version >= 1 else { throw malformed("a key version is not positive") }
            let key = SymmetricKey(data: bytes[(at + 5)..<(at + entryBytes)])
            switch bytes[at] {
            case dataPurpose:
                guard dataKeys.updateValue(key, forKey: version) == nil else { throw malformed("data key version \(version) appears twice") }
            case indexPurpose:
                guard indexKeys.updateValue(key, forKey: version) == nil else { throw malformed("index key version \(version) appears twice") }
            default:
                throw malformed("a key has an unknown purpose")
            }
        }
        guard dataKeys[current] != nil else { throw malformed("the current data key version \(current) is not among its keys") }
        guard !indexKeys.isEmpty else { throw malformed("it has no index key") }
        return TenantKeyring(tenantCode: tenantCode, currentDataKeyVersion: current, dataKeys: dataKeys, indexKeys: indexKeys)
    }
}
