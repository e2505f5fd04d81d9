import Crypto

/// The kind of value a blind index token stands for. Part of the MAC input,
/// so equal strings in different domains give unrelated tokens.
public enum BlindIndexDomain: String, Sendable {
    /// My Number (individual number).
    case individualNumber = "individual-number"
    /// Resident address number (宛名番号).
    case addressNumber = "address-number"
    /// Vaccination lookups (e.g. a vaccination record identifier).
    case vaccination = "vaccination"
}

/// Deterministic, keyed tokens for looking records up by personal data, so
/// database keys never contain the plaintext.
///
/// token = HMAC-SHA256(index key, "renkei.bi.v1" ‖ 0x00 ‖ domain ‖ 0x00 ‖ value (UTF-8) ‖ 0x00 ‖ tenant code).
/// Without the tenant's index key a token cannot be computed or tested
/// against guesses, and tokens of different tenants do not match.
public struct BlindIndex: Sendable {
    /// One HMAC per domain with the key and fixed prefix already absorbed;
    /// `token` copies it (copy-on-write) instead of re-deriving the HMAC pads
    /// and re-hashing the prefix on every call.
    private let prepared: [HMAC<SHA256>]
    /// 0x00 ‖ tenant code, appended after the value.
    private let suffix: [UInt8]

    /// A blind index for the keyring's tenant, using its current index key.
    public init(keyring: TenantKeyring) {
        let key = keyring.indexKey
        prepared = Self.allDomains.map { domain in
            var mac = HMAC<SHA256>(key: key)
            mac.update(data: Array("renkei.bi.v1".utf8) + [0] + Array(domain.rawValue.utf8) + [0])
            return mac
        }
        suffix = [0] + Array(keyring.tenantCode.utf8)
    }

    /// In the order of `domainIndex`.
    private static let allDomains: [BlindIndexDomain] = [.individualNumber, .addressNumber, .vaccination]

    @inline(__always)
    private static func domainIndex(_ domain: BlindIndexDomain) -> Int {
        switch domain {
        case .individualNumber: 0
        case .addressNumber: 1
        case .vaccination: 2
        }
    }

    /// The 32-byte token for `value` in `domain`. Same keyring, domain and
    /// value always give the same token. Callers normalise `value` first
    /// (e.g. strip spaces), since any difference in bytes changes the token.
    public func token(_ value: String, domain: BlindIndexDomain) -> [UInt8] {
        var mac = prepared[Self.domainIndex(domain)]
        var value = value
        value.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
        mac.update(data: suffix)
        return mac.finalize().withUnsafeBytes { Array($0) }
    }
}
