import Foundation
import Logging
import RenkeiCore
import RenkeiCrypto
import RenkeiStore

/// What installing a recovery kit did.
public struct RecoveryKitInstallation: Sendable, Equatable {
    /// The tenant.
    public let code: MunicipalityCode
    /// `TenantKeyring.fingerprint` of the installed keyring.
    public let keyringFingerprint: String
    /// The data key versions the installed keyring holds, ascending.
    public let dataKeyVersions: [UInt32]
    /// Stored records the kit's keys opened and verified before anything was
    /// written (0 for a tenant without records).
    public let recordsChecked: Int
    /// The node already held this very keyring under its master key; nothing was written.
    public let alreadyInstalled: Bool
}

extension NodeStore {
    /// Records `installRecoveryKit` opens, per column family, to check that a
    /// kit belongs to the data: a few suffice (one wrong key fails them all),
    /// and the bound keeps the check instant on any size of tenant.
    public static let recoveryKitCheckRecords = 8

    /// Seals tenant `code`'s keyring (every data key version and the index
    /// keys) with `passphrase`, for disaster-recovery staff.
    ///
    /// Export a new kit after every data key rotation: a kit holds the
    /// versions that existed when it was made. Takes one scrypt derivation
    /// (about a second and 128 MiB with `.standard`) on the calling thread.
    ///
    /// - Throws: `.tenantNotFound`; `.invalidArgument` if the passphrase
    ///   breaks the length rule (the message names it); `.keys` if the keyring
    ///   cannot be read.
    public func exportRecoveryKit(
        code: MunicipalityCode, passphrase: String, parameters: RecoveryKitParameters = .standard
    ) throws(NodeError) -> RecoveryKit {
        do {
            try RecoveryKit.checkPassphrase(passphrase)
        } catch let error as CryptoError {
            throw NodeError(.invalidArgument, error.message, cause: error)
        } catch {
            throw NodeError(.invalidArgument, "\(error)")
        }
        // Read under the admin lock so a concurrent deletion cannot leave us
        // sealing a keyring that was just shredded; seal outside it, since
        // scrypt is slow on purpose.
        let keyring = try adminLock.withLock { _ throws(NodeError) -> TenantKeyring in
            guard hosts(code) else {
                throw NodeError(.tenantNotFound, "this node does not host municipality \(code)")
            }
            do {
                return try TenantKeyring.load(fromPath: directory.keyringPath(for: code.rawValue),
                                              tenantCode: code.rawValue, master: masterKey)
            } catch {
                throw NodeError(.keys, "cannot read the keyring of tenant \(code): \(error)", cause: error)
            }
        }
        do {
            let kit = try RecoveryKit.seal(keyring, passphrase: passphrase, parameters: parameters)
            logger.notice("recovery kit exported", metadata: [
                "tenant": "\(code)", "keyring": "\(kit.keyringFingerprint)", "kdf": "\(kit.parameters)",
            ])
            return kit
        } catch let error as CryptoError {
            let kind: NodeError.Code = error.code == .weakPassphrase || error.code == .recoveryKitMalformed ? .invalidArgument : .keys
            throw NodeError(kind, "cannot seal the recovery kit of tenant \(code): \(error.message)", cause: error)
        } catch {
            throw NodeError(.keys, "cannot seal the recovery kit of tenant \(code): \(error)")
        }
    }

    /// Installs the keyring in `kit` as tenant `code`'s keyring in the node
    /// data directory `directory`, sealed under that directory's master key.
    ///
    /// For restores: a restored data directory has the old node's database
    /// and wrapped keyring files but a new master key, so no tenant opens
    /// until its kit is installed. Call this before `open` (which would take
    /// a tenant whose keyring file is missing for an interrupted deletion),
    /// and while no process has the database open.
    ///
    /// Refuses, writing nothing, when:
    /// - the kit is for another municipality than `code` (`.invalidArgument`);
    /// - the directory's database does not hold `code` (`.tenantNotFound`);
    /// - the passphrase does not open the kit, or the kit was altered (`.keys`);
    /// - the tenant's existing keyring file lists key versions the kit lacks
    ///   (a kit older than a key rotation), or still opens under this
    ///   directory's master key with other keys (`.keys`);
    /// - the kit's keys do not open up to `recoveryKitCheckRecords` stored
    ///   residents and vaccination records of the tenant, each checked
    ///   against its blind-index key (`.keys`): a kit of an earlier tenant
    ///   with the same code, for instance.
    public static func installRecoveryKit(
        _ kit: RecoveryKit, passphrase: String, for code: MunicipalityCode,
        into directory: NodeDirectory, masterKey source: MasterKeySource = .dataDirectory, logger: Logger
    ) throws(NodeError) -> RecoveryKitInstallation {
        guard kit.tenantCode == code.rawValue else {
            throw NodeError(.invalidArgument,
                "the recovery kit is for municipality \(kit.tenantCode), not \(code); use the kit made for \(code). Nothing was installed")
        }
        let master = try loadMasterKey(directory, source: source)
        let keyring: TenantKeyring
        do {
            keyring = try kit.open(passphrase: passphrase, tenantCode: code.rawValue)
        } catch let error as CryptoError {
            throw NodeError(.keys, "\(error.message). Nothing was installed", cause: error)
        } catch {
            throw NodeError(.keys, "cannot open the recovery kit of municipality \(code): \(error)")
        }
        let keyringPath = directory.keyringPath(for: code.rawValue)
        if FileManager.default.fileExists(atPath: keyringPath) {
            if try checkExistingKeyring(at: keyringPath, against: keyring, code: code, master: master, logger: logger) {
                return RecoveryKitInstallation(code: code, keyringFingerprint: keyring.fingerprint,
                                               dataKeyVersions: keyring.dataKeyVersions, recordsChecked: 0, alreadyInstalled: true)
            }
        }
        let checked = try checkKeyringOpensRecords(keyring, code: code, directory: directory)
        try makeDirectory(directory.keysDirectory)
        do {
            try keyring.save(toPath: keyringPath, with: master)
        } catch {
            throw NodeError(.keys, "cannot write the keyring of tenant \(code) to \(keyringPath)", cause: error)
        }
        logger.notice("recovery kit installed", metadata: [
            "tenant": "\(code)", "keyring": "\(keyring.fingerprint)", "records-checked": "\(checked)",
            "master-key": "\(master.fingerprint)",
        ])
        return RecoveryKitInstallation(code: code, keyringFingerprint: keyring.fingerprint,
                                       dataKeyVersions: keyring.dataKeyVersions, recordsChecked: checked, alreadyInstalled: false)
    }

    /// Compares the kit's keyring with the tenant's keyring file. Returns
    /// `true` if the file already holds exactly these keys under `master`;
    /// throws if installing would lose keys; `false` to go on.
    private static func checkExistingKeyring(
        at path: String, against keyring: TenantKeyring, code: MunicipalityCode, master: MasterKey, logger: Logger
    ) throws(NodeError) -> Bool {
        let bytes: [UInt8]
        do {
            bytes = try SecureFile.readAll(atPath: path)
        } catch {
            throw NodeError(.keys, "cannot read the keyring file \(path)", cause: error)
        }
        if let current = try? TenantKeyring.open(bytes, tenantCode: code.rawValue, master: master) {
            guard current.fingerprint == keyring.fingerprint else {
                throw NodeError(.keys,
                    "tenant \(code) in \(directory(of: path)) already has a working keyring (fingerprint \(current.fingerprint)) that differs from the kit's (\(keyring.fingerprint)); refusing to replace keys that open its data. Nothing was installed")
            }
            return true
        }
        let summary: SealedKeyringSummary
        do {
            summary = try TenantKeyring.summary(ofSealed: bytes)
        } catch {
            // The kit is the source of truth here; the record check below
            // still stops a kit that does not fit the data.
            logger.warning("the tenant's old keyring file is unreadable; relying on the record check", metadata: ["tenant": "\(code)"])
            return false
        }
        guard summary.tenantCode == code.rawValue else {
            throw NodeError(.corrupted, "the keyring file \(path) names tenant \(summary.tenantCode), not \(code). Nothing was installed")
        }
        let missingData = Set(summary.dataKeyVersions).subtracting(keyring.dataKeyVersions).sorted()
        let missingIndex = Set(summary.indexKeyVersions).subtracting(keyring.indexKeyVersions).sorted()
        guard missingData.isEmpty, missingIndex.isEmpty else {
            let list = { (v: [UInt32]) in v.map(String.init).joined(separator: ", ") }
            throw NodeError(.keys,
                "the recovery kit of \(code) (made \(keyringDescription(keyring))) lacks key versions the tenant's keyring lists (data: [\(list(missingData))], index: [\(list(missingIndex))]): it was made before a key rotation; use the newest kit. Nothing was installed")
        }
        return false
    }

    private static func keyringDescription(_ keyring: TenantKeyring) -> String {
        "with data key versions \(keyring.dataKeyVersions.map(String.init).joined(separator: ", "))"
    }

    private static func directory(of path: String) -> String {
        (path as NSString).deletingLastPathComponent
    }

    /// Opens up to `recoveryKitCheckRecords` residents and vaccination
    /// records of `code` with `keyring`; returns how many were checked.
    private static func checkKeyringOpensRecords(
        _ keyring: TenantKeyring, code: MunicipalityCode, directory: NodeDirectory
    ) throws(NodeError) -> Int {
        // A small cache: this reads a handful of records.
        let options = DatabaseOptions(createIfMissing: false, blockCacheBytes: 1 << 20)
        let db: Database
        do {
            db = try Database.open(path: directory.databasePath, options: options)
        } catch {
            throw NodeError(.storage,
                "cannot open the database in \(directory.databasePath) to check the kit against it (is a node process using it?): \(error)",
                cause: error)
        }
        guard try storage({ try db.get(tenantKey(code), in: db.defaultColumnFamily) }) != nil else {
            throw NodeError(.tenantNotFound, "\(directory.root) holds no municipality \(code); nothing was installed")
        }
        let sealer = RecordSealer(keyring: keyring)
        let blindIndex = BlindIndex(keyring: keyring)
        var checked = 0
        var failure: NodeError?
        func mismatch(_ what: String, _ cause: any Error & Sendable) -> NodeError {
            NodeError(.keys,
                "the recovery kit's keys (keyring \(keyring.fingerprint)) do not open the \(what) of municipality \(code) in \(directory.root): the kit belongs to another keyring of that code (for example one from before the tenant was deleted and re-added), or the data is damaged. Nothing was installed",
                cause: cause)
        }
        for kind in [TenantColumnFamily.residents, .vaccinations] {
            let name = kind.name(for: code)
            guard let family = db.columnFamily(named: name) else { continue }
            var seen = 0
            try storage {
                try db.scan(prefix: [], in: family) { key, value in
                    let context = RecordContext(tenantCode: code.rawValue, columnFamily: name, recordKey: key)
                    do {
                        let plain = try sealer.open(value, context: context)
                        if kind == .residents {
                            let resident = try Resident(decoding: plain)
                            guard blindIndex.token(resident.addressNumber.digits, domain: .addressNumber) == key else {
                                failure = mismatch("blind index", CryptoError(.authenticationFailed, "a resident's record key is not its blind index under the kit's index key"))
                                return false
                            }
                        }
                    } catch let error as CryptoError {
                        failure = mismatch(kind == .residents ? "resident records" : "vaccination records", error)
                        return false
                    } catch {
                        failure = NodeError(.corrupted, "a stored record of municipality \(code) opened but cannot be decoded", cause: SendableDescription(error))
                        return false
                    }
                    seen += 1
                    return seen < recoveryKitCheckRecords
                }
            }
            if let failure { throw failure }
            checked += seen
        }
        return checked
    }
}

/// A non-Sendable error's description, as a Sendable cause (decoding errors
/// name fields and lengths, never values).
struct SendableDescription: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ error: any Error) { description = "\(error)" }
}
