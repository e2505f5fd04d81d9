import Foundation
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import Synchronization

/// Where the node master key comes from.
public enum MasterKeySource: Sendable, Equatable {
    /// `DATA/master.key`.
    case dataDirectory
    /// A key file elsewhere (for example on a separate, access-controlled volume).
    case file(String)
    /// 64 hex characters, from the environment (`RENKEI_MASTER_KEY`).
    case hex(String)
}

/// How a node store opens.
public struct NodeStoreOptions: Sendable {
    public var masterKey: MasterKeySource
    public var database: DatabaseOptions

    public init(masterKey: MasterKeySource = .dataDirectory, database: DatabaseOptions = .init()) {
        self.masterKey = masterKey
        self.database = database
    }
}

/// A node's encrypted, tenant-partitioned record store: the RocksDB database,
/// the master key and every tenant's keys.
///
/// Thread-safe. Tenant administration (add, delete) is serialized; reads and
/// writes go through `tenant(_:)`.
public final class NodeStore: Sendable {
    public let directory: NodeDirectory
    public let manifest: NodeManifest
    let db: Database
    let meta: ColumnFamily
    let masterKey: MasterKey
    let logger: Logger
    let partitions: Mutex<[MunicipalityCode: TenantPartition]>
    let adminLock = Mutex<Void>(())
    let auditLogs: AuditLogs

    static let tenantPrefix = Array("tenant/".utf8)

    // MARK: Creating a node

    /// Creates a node data directory: the master key (unless it is kept
    /// elsewhere), the key directory, an empty database and `node.json`.
    ///
    /// `node.json` is written last, so an interrupted `init` can be re-run.
    @discardableResult
    public static func initialize(
        at directory: NodeDirectory, masterKey source: MasterKeySource = .dataDirectory, logger: Logger
    ) throws(NodeError) -> NodeManifest {
        guard !directory.exists else {
            throw NodeError(.alreadyInitialized, "\(directory.root) already holds a node (node.json exists)")
        }
        try makeDirectory(directory.root)
        try makeDirectory(directory.keysDirectory)
        let key: MasterKey
        do {
            func loadOrCreate(_ path: String) throws -> MasterKey {
                guard FileManager.default.fileExists(atPath: path) else { return try MasterKey.create(atPath: path) }
                logger.info("using existing master key file", metadata: ["path": "\(path)"])
                return try MasterKey.load(fromPath: path)
            }
            switch source {
            case .dataDirectory:
                key = try loadOrCreate(directory.defaultMasterKeyPath)
            case .file(let path):
                key = try loadOrCreate(path)
            case .hex(let hex):
                key = try MasterKey.fromHex(hex)
            }
        } catch {
            throw NodeError(.keys, "cannot set up the master key", cause: error)
        }
        do {
            _ = try Database.open(path: directory.databasePath, options: DatabaseOptions())
        } catch {
            throw NodeError(.storage, "cannot create the database in \(directory.databasePath)", cause: error)
        }
        let manifest = NodeManifest(
            nodeID: UUID().uuidString.lowercased(), createdAt: Date().ISO8601Format(),
            masterKeyFingerprint: key.fingerprint)
        try writeManifest(manifest, to: directory)
        logger.info("node initialized", metadata: ["node": "\(manifest.nodeID)", "master-key": "\(key.fingerprint)"])
        return manifest
    }

    /// Writes `node.json` atomically (at init, and when a master key rotation
    /// records the new fingerprint).
    static func writeManifest(_ manifest: NodeManifest, to directory: NodeDirectory) throws(NodeError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try SecureFile.writeAtomically(Array(try encoder.encode(manifest)) + [0x0A], toPath: directory.manifestPath, mode: 0o644)
        } catch {
            throw NodeError(.storage, "cannot write \(directory.manifestPath)", cause: error)
        }
    }

    static func makeDirectory(_ path: String) throws(NodeError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw NodeError(.storage, "cannot create directory \(path)", cause: error)
        }
    }

    // MARK: Opening

    /// Opens an initialized node: checks the master key against the
    /// manifest, opens every column family and every tenant's keyring.
    public static func open(
        _ directory: NodeDirectory, options: NodeStoreOptions = .init(), logger: Logger
    ) throws(NodeError) -> NodeStore {
        guard directory.exists else {
            throw NodeError(.notInitialized, "\(directory.root) is not a node data directory (no node.json); run: renkei init --data \(directory.root)")
        }
        let manifest = try readManifest(directory)
        guard manifest.format == NodeManifest.currentFormat else {
            throw NodeError(.corrupted, "\(directory.manifestPath) has format \(manifest.format); this renkei reads format \(NodeManifest.currentFormat)")
        }
        let key = try loadMasterKey(directory, source: options.masterKey, manifest: manifest)
        let db: Database
        do {
            db = try Database.open(path: directory.databasePath, options: options.database.withChangeLog)
        } catch {
            throw NodeError(.storage, "cannot open the database in \(directory.databasePath): \(error)", cause: error)
        }
        let store = NodeStore(directory: directory, manifest: manifest, db: db, masterKey: key, logger: logger)
        try store.loadTenants()
        return store
    }

    /// Loads the master key from `source` and checks it is this node's (the
    /// fingerprint in `node.json`), without opening the database: for tools
    /// that must work while a node process holds the database lock, such as
    /// the audit log verifier.
    public static func loadMasterKey(_ directory: NodeDirectory, source: MasterKeySource) throws(NodeError) -> MasterKey {
        guard directory.exists else {
            throw NodeError(.notInitialized, "\(directory.root) is not a node data directory (no node.json)")
        }
        return try loadMasterKey(directory, source: source, manifest: try readManifest(directory))
    }

    static func readManifest(_ directory: NodeDirectory) throws(NodeError) -> NodeManifest {
        do {
            let bytes = try SecureFile.readAll(atPath: directory.manifestPath)
            return try JSONDecoder().decode(NodeManifest.self, from: Data(bytes))
        } catch {
            throw NodeError(.corrupted, "cannot read \(directory.manifestPath)", cause: error)
        }
    }

    /// Every user of the master key comes through here (`open`, the public
    /// `loadMasterKey`, the recovery-kit installer), so every one of them
    /// gets the derivation root applied and refuses a half-rotated node.
    private static func loadMasterKey(_ directory: NodeDirectory, source: MasterKeySource, manifest: NodeManifest) throws(NodeError) -> MasterKey {
        try refuseInterruptedRotation(directory, source: source)
        var key: MasterKey
        do {
            switch source {
            case .dataDirectory: key = try MasterKey.load(fromPath: directory.defaultMasterKeyPath)
            case .file(let path): key = try MasterKey.load(fromPath: path)
            case .hex(let hex): key = try MasterKey.fromHex(hex)
            }
        } catch {
            throw NodeError(.keys, "cannot load the node master key: \(error)", cause: error)
        }
        guard key.fingerprint == manifest.masterKeyFingerprint else {
            throw NodeError(.keys, "the master key (fingerprint \(key.fingerprint)) is not this node's (expected \(manifest.masterKeyFingerprint))")
        }
        // A node whose master key was rotated derives its audit and access
        // keys from the root it had before (ADR 0011); without the file the
        // root is the key itself, as on every node never rotated.
        if FileManager.default.fileExists(atPath: directory.derivationRootPath) {
            do {
                key = try key.applyingDerivationRoot(sealed: try SecureFile.readAll(atPath: directory.derivationRootPath))
            } catch {
                throw NodeError(.keys, "cannot open \(directory.derivationRootPath) (the root of the audit and account keys): \(error)", cause: error)
            }
        }
        return key
    }

    init(directory: NodeDirectory, manifest: NodeManifest, db: Database, masterKey: MasterKey, logger: Logger) {
        self.directory = directory
        self.manifest = manifest
        self.db = db
        self.meta = db.defaultColumnFamily
        self.masterKey = masterKey
        self.logger = logger
        self.partitions = Mutex([:])
        self.auditLogs = AuditLogs(directory: directory.auditDirectory, masterKey: masterKey, logger: logger)
    }

    private func loadTenants() throws(NodeError) {
        var infos: [TenantInfo] = []
        var failure: NodeError?
        try storage {
            try db.scan(prefix: Self.tenantPrefix, in: meta) { _, value in
                do {
                    infos.append(try JSONDecoder().decode(TenantInfo.self, from: Data(value)))
                    return true
                } catch {
                    failure = NodeError(.corrupted, "a tenant entry in the node metadata cannot be decoded", cause: error)
                    return false
                }
            }
        }
        if let failure { throw failure }
        var loaded: [MunicipalityCode: TenantPartition] = [:]
        for info in infos {
            let keyringPath = directory.keyringPath(for: info.code.rawValue)
            guard FileManager.default.fileExists(atPath: keyringPath) else {
                // The keyring was erased by a deletion that stopped before it
                // dropped the column families: the data is already unreadable,
                // so finish the deletion.
                logger.warning("tenant keyring missing; completing an interrupted deletion", metadata: ["tenant": "\(info.code)"])
                try dropTenantData(info.code)
                continue
            }
            loaded[info.code] = try partition(for: info)
        }
        partitions.withLock { $0 = loaded }
    }

    private func partition(for info: TenantInfo) throws(NodeError) -> TenantPartition {
        let keyring: TenantKeyring
        do {
            let bytes = try SecureFile.readAll(atPath: directory.keyringPath(for: info.code.rawValue))
            keyring = try TenantKeyring.open(bytes, tenantCode: info.code.rawValue, master: masterKey)
        } catch {
            throw NodeError(.keys, "cannot open the keyring of tenant \(info.code): \(error)", cause: error)
        }
        func cf(_ kind: TenantColumnFamily) throws(NodeError) -> ColumnFamily {
            guard let family = db.columnFamily(named: kind.name(for: info.code)) else {
                throw NodeError(.corrupted, "tenant \(info.code): column family \(kind.name(for: info.code)) is missing")
            }
            return family
        }
        // A tenant added before the received-files column family existed:
        // it starts empty, so creating it now is all the migration there is.
        if db.columnFamily(named: TenantColumnFamily.received.name(for: info.code)) == nil {
            _ = try storage { try db.createColumnFamily(named: TenantColumnFamily.received.name(for: info.code)) }
            logger.notice("created the received-files column family of a tenant that predates it", metadata: ["tenant": "\(info.code)"])
        }
        return TenantPartition(
            info: info, db: db, meta: meta,
            residentsCF: try cf(.residents), numberIndexCF: try cf(.numberIndex), vaccinationsCF: try cf(.vaccinations),
            receivedCF: try cf(.received),
            keys: TenantKeys(keyring), blindIndex: BlindIndex(keyring: keyring),
            writeLock: TenantPartition.WriteLock())
    }

    // MARK: Tenants

    /// The tenants this node hosts, by code.
    public var tenants: [TenantInfo] {
        partitions.withLock { $0.values.map(\.info) }.sorted { $0.code < $1.code }
    }

    /// The partition of tenant `code`: the only way to its records.
    public func tenant(_ code: MunicipalityCode) throws(NodeError) -> TenantPartition {
        guard let partition = partitions.withLock({ $0[code] }) else {
            throw NodeError(.tenantNotFound, "this node does not host municipality \(code)")
        }
        return partition
    }

    /// Whether this node hosts `code`.
    public func hosts(_ code: MunicipalityCode) -> Bool {
        partitions.withLock { $0[code] != nil }
    }

    /// Adds a tenant: fresh random data and index keys wrapped by the master
    /// key, and its own column families.
    ///
    /// Order matters for crash safety: keyring file, then column families,
    /// then the metadata entry that makes the tenant exist. A crash before the
    /// last step leaves nothing visible and the next `addTenant` starts over.
    @discardableResult
    public func addTenant(_ code: MunicipalityCode, name: String) throws(NodeError) -> TenantInfo {
        try adminLock.withLock { _ throws(NodeError) -> TenantInfo in
            guard !hosts(code) else {
                throw NodeError(.tenantExists, "this node already hosts municipality \(code)")
            }
            do throws(ValidationError) {
                try TextRules.check(name, field: FieldName("name", "団体名"), maxCharacters: 60)
            } catch {
                throw NodeError(.invalidArgument, error.description, cause: error)
            }
            let keyring = TenantKeyring.generate(tenantCode: code.rawValue)
            do {
                try SecureFile.writeAtomically(try keyring.sealed(with: masterKey), toPath: directory.keyringPath(for: code.rawValue))
            } catch {
                throw NodeError(.keys, "cannot write the keyring of tenant \(code)", cause: error)
            }
            for kind in TenantColumnFamily.allCases {
                let name = kind.name(for: code)
                if let leftover = db.columnFamily(named: name) {
                    try storage { try db.dropColumnFamily(leftover) }
                }
                _ = try storage { try db.createColumnFamily(named: name) }
            }
            let info = TenantInfo(code: code, name: name, createdAt: Date().ISO8601Format())
            let encoded: Data
            do {
                encoded = try JSONEncoder().encode(info)
            } catch {
                throw NodeError(.invalidArgument, "cannot encode the entry of tenant \(code)", cause: error)
            }
            let batch = WriteBatch()
            batch.put(Self.tenantKey(code), Array(encoded), in: meta)
            TenantCounter.put(TenantCounts(), code: code, meta: meta, into: batch)
            try storage { try db.write(batch, sync: true) }
            let partition = try partition(for: info)
            partitions.withLock { $0[code] = partition }
            logger.info("tenant added", metadata: ["tenant": "\(code)"])
            return info
        }
    }

    /// Deletes a tenant by crypto-shredding: its keyring is erased first, so
    /// from that moment every ciphertext of the tenant, here and in any
    /// backup, is unreadable; then its column families and metadata go.
    public func deleteTenant(_ code: MunicipalityCode) throws(NodeError) {
        try adminLock.withLock { _ throws(NodeError) in
            guard hosts(code) else {
                throw NodeError(.tenantNotFound, "this node does not host municipality \(code)")
            }
            partitions.withLock { _ = $0.removeValue(forKey: code) }
            do {
                try SecureFile.erase(atPath: directory.keyringPath(for: code.rawValue))
            } catch {
                throw NodeError(.keys, "cannot erase the keyring of tenant \(code)", cause: error)
            }
            try dropTenantData(code)
            logger.notice("tenant deleted (keys destroyed)", metadata: ["tenant": "\(code)"])
        }
    }

    private func dropTenantData(_ code: MunicipalityCode) throws(NodeError) {
        for kind in TenantColumnFamily.allCases {
            if let family = db.columnFamily(named: kind.name(for: code)) {
                try storage { try db.dropColumnFamily(family) }
            }
        }
        let batch = WriteBatch()
        batch.delete(Self.tenantKey(code), in: meta)
        batch.delete(TenantCounter.key(code), in: meta)
        batch.delete(Self.reencryptionKey(code), in: meta)
        try storage { try db.write(batch, sync: true) }
    }

    static func tenantKey(_ code: MunicipalityCode) -> [UInt8] { tenantPrefix + Array(code.rawValue.utf8) }

    /// The audit log of municipality `code`, opened on first use
    /// (`DATA/audit/CODE.log`).
    ///
    /// Works for any code, hosted or not: the log of a deleted tenant
    /// outlives it, and its key comes from the master key, not the tenant's
    /// shredded keyring. Because any valid code gets a file, callers record
    /// under a code this node hosts (or hosted), never under one taken
    /// unchecked from a peer's request.
    ///
    /// - Throws: `.corrupted` if the log fails its checks on opening (run
    ///   `renkei audit verify`), `.conflict` if another process writes it,
    ///   `.storage` for I/O failures.
    public func auditLog(_ code: MunicipalityCode) throws(NodeError) -> AuditLog {
        do throws(AuditError) {
            return try auditLogs.log(for: code)
        } catch {
            let kind: NodeError.Code = switch error.code {
            case .corrupted: .corrupted
            case .locked: .conflict
            case .invalidArgument: .invalidArgument
            case .io, .notFound: .storage
            }
            throw NodeError(kind, "audit log of municipality \(code): \(error.message)", cause: error)
        }
    }

    /// The master key's fingerprint (safe to show).
    public var masterKeyFingerprint: String { masterKey.fingerprint }

    /// A RocksDB property of the whole database, e.g. `rocksdb.total-sst-files-size`.
    public func databaseProperty(_ name: String) -> String? { db.property(name) }
}

extension NodeStore {
    /// Flushes memtables and compacts every column family (benchmarks and
    /// maintenance: reads then see a settled LSM tree).
    public func flushAndCompact() throws(NodeError) {
        for name in db.columnFamilyNames {
            guard let family = db.columnFamily(named: name) else { continue }
            try storage { try db.flush(family); try db.compact(family) }
        }
    }
}
