import Crypto

/// The MAC chain: how each entry's `mac` and the head file's MAC are computed.
///
/// mac(0) = HMAC(key, "renkei.audit.genesis.v1" ‖ 0x00 ‖ tenant code)
/// mac(n) = HMAC(key, mac(n-1) ‖ canonical bytes of entry n)
///
/// Starting from a genesis bound to the tenant code means entry 1 of one
/// tenant's log does not verify at the start of another's; chaining means an
/// entry cannot be edited, removed, inserted or moved without breaking every
/// later MAC, and recomputing them needs the key, which is derived from the
/// node master key.
enum AuditChain {
    static func genesis(code: String, key: SymmetricKey) -> [UInt8] {
        hmac(key, Array("renkei.audit.genesis.v1".utf8) + [0] + Array(code.utf8))
    }

    static func mac(previous: [UInt8], entry: AuditEntry, code: String, key: SymmetricKey) -> [UInt8] {
        var h = HMAC<SHA256>(key: key)
        h.update(data: previous)
        h.update(data: entry.canonicalBytes(code: code))
        return Array(h.finalize())
    }

    /// Authenticates the head file's (seq, mac) pair.
    static func headMAC(seq: UInt64, mac: [UInt8], code: String, key: SymmetricKey) -> [UInt8] {
        var message = Array("renkei.audit.head.v1".utf8) + [0] + Array(code.utf8) + [0]
        for shift in stride(from: 56, through: 0, by: -8) { message.append(UInt8(truncatingIfNeeded: seq >> UInt64(shift))) }
        message += mac
        return hmac(key, message)
    }

    private static func hmac(_ key: SymmetricKey, _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Compares MACs without an early exit.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }
}

/// Lowercase hex for MACs and digests.
public enum AuditHex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil on odd length or a character that is not lowercase hex.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
