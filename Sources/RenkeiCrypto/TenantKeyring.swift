import Crypto

/// What a tenant key is for. Each purpose has its own keys so a blind-index
/// key can never decrypt records and vice versa.
public enum TenantKeyPurpose: String, Sendable {
    /// AES-256-GCM keys for record values.
    case data
    /// HMAC-SHA256 keys for blind indexes.
    case index
}

/// One tenant's (municipality's) keys, unwrapped and ready to use.
///
/// Holds every data key version (old record envelopes must stay readable
/// after rotation) and the index keys. Keys are `SymmetricKey`s cached here
/// so sealing and opening records never unwraps anything. Persist with
/// `sealed(with:)` and `open(_:tenantCode:master:)`; deleting the sealed file
/// (`SecureFile.erase`) crypto-shreds the tenant.
///
/// The `description` is redacted: it lists versions, never keys.
public struct TenantKeyring: Sendable {
    /// The tenant's code, e.g. `"322016"`. Callers validate it; it is bound
    /// into every wrapped key, record envelope and blind index.
    public let tenantCode: String
    /// The version new records are sealed with.
    public let currentDataKeyVersion: UInt32
    let dataKeys: [UInt32: SymmetricKey]
    let indexKeys: [UInt32: SymmetricKey]
    /// Cached so the hot path does not look the current key up per record.
    let currentDataKey: SymmetricKey
    let currentIndexKeyVersion: UInt32

    init(tenantCode: String,
         currentDataKeyVersion: UInt32,
         dataKeys: [UInt32: SymmetricKey],
         indexKeys: [UInt32: SymmetricKey]) {
        precondition(dataKeys[currentDataKeyVersion] != nil, "current data key version must exist")
        precondition(!indexKeys.isEmpty, "a keyring needs an index key")
        self.tenantCode = tenantCode
        self.currentDataKeyVersion = currentDataKeyVersion
        self.dataKeys = dataKeys
        self.indexKeys = indexKeys
        self.currentDataKey = dataKeys[currentDataKeyVersion]!
        self.currentIndexKeyVersion = indexKeys.keys.max()!
    }

    /// A new keyring with random data key v1 and index key v1.
    public static func generate(tenantCode: String) -> TenantKeyring {
        TenantKeyring(tenantCode: tenantCode,
                      currentDataKeyVersion: 1,
                      dataKeys: [1: SymmetricKey(size: .bits256)],
                      indexKeys: [1: SymmetricKey(size: .bits256)])
    }

    /// All data key versions this keyring can open, ascending.
    public var dataKeyVersions: [UInt32] {
        dataKeys.keys.sorted()
    }

    /// All index key versions this keyring holds, ascending.
    public var indexKeyVersions: [UInt32] {
        indexKeys.keys.sorted()
    }

    /// The data key of `version`. Throws `.unknownKeyVersion` if the keyring does not have it.
    public func dataKey(version: UInt32) throws -> SymmetricKey {
        guard let key = dataKeys[version] else {
            throw CryptoError(.unknownKeyVersion,
                "tenant \(tenantCode) has no data key version \(version) (it has \(dataKeyVersionList)); the record was sealed with a key this keyring does not hold")
        }
        return key
    }

    /// The current index key. Blind indexes are not rotated in place (that
    /// would mean rebuilding every index), so this is the newest index key.
    public var indexKey: SymmetricKey {
        indexKeys[currentIndexKeyVersion]!
    }

    /// A copy with a new random data key, one version above the highest,
    /// made current. Older versions stay so existing records still open.
    public func addingDataKeyVersion() -> TenantKeyring {
        let next = (dataKeys.keys.max() ?? 0) + 1
        var keys = dataKeys
        keys[next] = SymmetricKey(size: .bits256)
        return TenantKeyring(tenantCode: tenantCode, currentDataKeyVersion: next,
                             dataKeys: keys, indexKeys: indexKeys)
    }

    var dataKeyVersionList: String {
        dataKeyVersions.map(String.init).joined(separator: ", ")
    }
}

extension TenantKeyring: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Tenant and versions only; never key material.
    public var description: String {
        "TenantKeyring(tenant: \(tenantCode), data key versions: [\(dataKeyVersionList)], current: \(currentDataKeyVersion))"
    }
    /// Same as `description`.
    public var debugDescription: String { description }
    /// Only non-secret fields, so `dump` cannot reach the keys.
    public var customMirror: Mirror {
        Mirror(self, children: ["tenantCode": tenantCode, "currentDataKeyVersion": currentDataKeyVersion])
    }
}
