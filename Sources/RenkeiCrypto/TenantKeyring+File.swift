import Crypto
import Foundation

/// The keyring file's JSON shape. Field names are the on-disk format.
private struct KeyringFile: Codable {
    struct Entry: Codable {
        var purpose: String
        var version: UInt32
        var wrapped: String
    }
    var format: Int
    var tenant: String
    var currentDataKeyVersion: UInt32
    var keys: [Entry]
}

extension TenantKeyring {
    /// The keyring file format this code writes and reads.
    static let fileFormat = 1

    /// The wrapping context of one tenant key. Binding tenant, purpose and
    /// version means a wrapped key copied to another tenant's file, or swapped
    /// between data and index, or relabelled with another version, fails to unwrap.
    static func wrapContext(tenantCode: String, purpose: TenantKeyPurpose, version: UInt32) -> String {
        "renkei.tenant-key.v1|\(tenantCode)|\(purpose.rawValue)|\(version)"
    }

    /// The keyring file's bytes: JSON naming the tenant and the current data
    /// key version, with every key wrapped under `master`.
    ///
    /// `{"format":1,"tenant":"322016","currentDataKeyVersion":1,"keys":[{"purpose":"data","version":1,"wrapped":"<base64>"}, …]}`
    /// (keys sorted, so equal keyrings give equal structure). Store it with
    /// `SecureFile.writeAtomically`.
    public func sealed(with master: MasterKey) throws -> [UInt8] {
        var entries: [KeyringFile.Entry] = []
        for (purpose, keys) in [(TenantKeyPurpose.data, dataKeys), (.index, indexKeys)] {
            for version in keys.keys.sorted() {
                let context = Self.wrapContext(tenantCode: tenantCode, purpose: purpose, version: version)
                let wrapped = try master.wrap(keys[version]!, context: context)
                entries.append(.init(purpose: purpose.rawValue, version: version,
                                     wrapped: Data(wrapped).base64EncodedString()))
            }
        }
        let file = KeyringFile(format: Self.fileFormat, tenant: tenantCode,
                               currentDataKeyVersion: currentDataKeyVersion, keys: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(file)) + [UInt8(ascii: "\n")]
        } catch {
            throw CryptoError(.io, "could not encode the keyring of tenant \(tenantCode)", cause: error)
        }
    }

    /// Reads keyring file bytes made by `sealed(with:)` and unwraps every key.
    ///
    /// Throws `.wrongTenant` if the file names a tenant other than
    /// `tenantCode`, `.unwrapFailed` if a key does not unwrap (another master
    /// key, or altered bytes), and `.keyFileMalformed` for anything else wrong
    /// with the structure.
    public static func open(_ bytes: [UInt8], tenantCode: String, master: MasterKey) throws -> TenantKeyring {
        try open(bytes, tenantCode: tenantCode, master: master, source: "the keyring of tenant \(tenantCode)")
    }

    /// Reads and opens the keyring file at `path`; errors name the path.
    public static func load(fromPath path: String, tenantCode: String, master: MasterKey) throws -> TenantKeyring {
        let bytes = try SecureFile.readAll(atPath: path)
        return try open(bytes, tenantCode: tenantCode, master: master, source: "keyring file \(path)")
    }

    /// Seals this keyring with `master` and writes it atomically, mode 0600, to `path`.
    public func save(toPath path: String, with master: MasterKey) throws {
        try SecureFile.writeAtomically(try sealed(with: master), toPath: path, mode: 0o600)
    }

    /// `source` names the file (or tenant) in error messages.
    private static func open(_ bytes: [UInt8], tenantCode: String, master: MasterKey, source: String) throws -> TenantKeyring {
        func malformed(_ why: String, cause: (any Error & Sendable)? = nil) -> CryptoError {
            CryptoError(.keyFileMalformed, "\(source) is malformed: \(why); restore it from backup", cause: cause)
        }
        let file: KeyringFile
        do {
            file = try JSONDecoder().decode(KeyringFile.self, from: Data(bytes))
        } catch {
            throw malformed("it is not valid keyring JSON", cause: error)
        }
        guard file.format == fileFormat else {
            throw malformed("format \(file.format) is not supported (expected \(fileFormat))")
        }
        guard file.tenant == tenantCode else {
            throw CryptoError(.wrongTenant,
                "\(source) belongs to tenant \(file.tenant), not \(tenantCode); check which file is configured for which tenant")
        }
        var dataKeys: [UInt32: SymmetricKey] = [:]
        var indexKeys: [UInt32: SymmetricKey] = [:]
        for entry in file.keys {
            guard let purpose = TenantKeyPurpose(rawValue: entry.purpose) else {
                throw malformed("unknown key purpose \"\(entry.purpose)\"")
            }
            guard entry.version >= 1 else {
                throw malformed("\(purpose.rawValue) key version \(entry.version) is not positive")
            }
            guard let wrapped = Data(base64Encoded: entry.wrapped) else {
                throw malformed("the \(purpose.rawValue) key version \(entry.version) is not valid base64")
            }
            let context = wrapContext(tenantCode: tenantCode, purpose: purpose, version: entry.version)
            let key: SymmetricKey
            do {
                key = try master.unwrap(Array(wrapped), context: context)
            } catch let error as CryptoError {
                throw CryptoError(.unwrapFailed,
                    "could not unwrap the \(purpose.rawValue) key version \(entry.version) in \(source): it was sealed under another master key (this node's key has fingerprint \(master.fingerprint)) or the file was altered",
                    cause: error.cause)
            }
            guard key.bitCount == 256 else {
                throw malformed("the \(purpose.rawValue) key version \(entry.version) is not 256 bits")
            }
            switch purpose {
            case .data:
                guard dataKeys.updateValue(key, forKey: entry.version) == nil else {
                    throw malformed("data key version \(entry.version) appears twice")
                }
            case .index:
                guard indexKeys.updateValue(key, forKey: entry.version) == nil else {
                    throw malformed("index key version \(entry.version) appears twice")
                }
            }
        }
        guard dataKeys[file.currentDataKeyVersion] != nil else {
            throw malformed("the current data key version \(file.currentDataKeyVersion) is not among its keys")
        }
        guard !indexKeys.isEmpty else {
            throw malformed("it has no index key")
        }
        return TenantKeyring(tenantCode: tenantCode, currentDataKeyVersion: file.currentDataKeyVersion,
                             dataKeys: dataKeys, indexKeys: indexKeys)
    }
}

/// What a sealed keyring file says about itself without unwrapping anything:
/// its tenant and which key versions it holds (the file lists them in clear).
public struct SealedKeyringSummary: Sendable, Equatable {
    /// The tenant the file names.
    public let tenantCode: String
    /// The data key versions it holds, ascending.
    public let dataKeyVersions: [UInt32]
    /// The index key versions it holds, ascending.
    public let indexKeyVersions: [UInt32]
}

extension TenantKeyring {
    /// Reads the structure of keyring file bytes made by `sealed(with:)`
    /// without any key: so a keyring sealed under a master key that is gone
    /// (a restored node) can still be compared with a recovery kit.
    /// Throws `.keyFileMalformed`.
    public static func summary(ofSealed bytes: [UInt8]) throws -> SealedKeyringSummary {
        let file: KeyringFile
        do {
            file = try JSONDecoder().decode(KeyringFile.self, from: Data(bytes))
        } catch {
            throw CryptoError(.keyFileMalformed, "the keyring file is not valid keyring JSON", cause: error)
        }
        guard file.format == fileFormat else {
            throw CryptoError(.keyFileMalformed, "keyring file format \(file.format) is not supported (expected \(fileFormat))")
        }
        var data: [UInt32] = []
        var index: [UInt32] = []
        for entry in file.keys {
            switch TenantKeyPurpose(rawValue: entry.purpose) {
            case .data: data.append(entry.version)
            case .index: index.append(entry.version)
            case nil: throw CryptoError(.keyFileMalformed, "the keyring file has a key of unknown purpose \"\(entry.purpose)\"")
            }
        }
        return SealedKeyringSummary(tenantCode: file.tenant, dataKeyVersions: data.sorted(), indexKeyVersions: index.sorted())
    }
}
