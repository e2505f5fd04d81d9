#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import Logging
import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import RenkeiTenantStore
import RenkeiVault

/// Rebuilds a node data directory from a vault: the base snapshot, every
/// change after it (up to a point in time, if asked), a new master key, and
/// each tenant's keyring from its recovery kit.
///
/// Everything is checked on the way: each snapshot file's size and SHA-256,
/// each segment's size and SHA-256 (then its LZ4 and record checks), the
/// change sequence (no gap, no repeat), and each kit against the restored
/// records. Work happens in a hidden sibling directory of the target that
/// is renamed into place only when all of it succeeded; a failed restore
/// leaves the target as it was.
///
/// Blocking file and RocksDB I/O happens on the calling task; run it where
/// that is acceptable (the CLI).
public struct Restorer: Sendable {
    public let source: any VaultSource
    public let limits: VaultLimits
    let logger: Logger

    public init(source: any VaultSource, limits: VaultLimits = VaultLimits(), logger: Logger) {
        self.source = source
        self.limits = limits
        self.logger = logger
    }

    /// Carries out `request`.
    ///
    /// - Parameter progress: Called now and then (on the restoring task).
    /// - Throws: `RestoreError` naming what failed: a file and its check, a
    ///   missing change range, a kit, the target directory.
    public func restore(
        _ request: RestoreRequest, progress: (RestoreProgress) -> Void = { _ in }
    ) async throws(RestoreError) -> RestoreReport {
        let started = ContinuousClock.now
        let target = request.target.count > 1 && request.target.hasSuffix("/") ? String(request.target.dropLast()) : request.target
        try Self.checkTarget(target)
        let keys = try Self.checkKeys(request)
        let node = try await resolveNode(request)
        if request.throughSeq != nil, request.pointInTimeMs != nil {
            throw RestoreError(.invalidArgument, "restore to a point in time or through a change, not both")
        }
        let catalog = try await source.catalog(node: node)
        let plan = try RestorePlan.make(request.throughSeq.map { catalog.limited(throughSeq: $0) } ?? catalog, at: request.pointInTimeMs)
        if let code = request.code, let base = plan.base,
           !base.files.contains(where: { $0.name == SnapshotLayout.keyringFile(code: code.rawValue) }),
           plan.segments.isEmpty {
            throw RestoreError(.notFound, "node \(node) did not host municipality \(code) at the restore point (its snapshot \(base.id) has no keyring for it)")
        }
        logger.info("restore planned", metadata: [
            "node": "\(node)", "snapshot": "\(plan.base?.id ?? "none")", "base-seq": "\(plan.baseSeq)",
            "segments": "\(plan.segments.count)", "at": "\(request.pointInTimeMs.map(TimeText.iso) ?? "latest")",
        ])
        // Kits are opened before any download: a wrong passphrase fails in seconds, not after an hour.
        for key in keys.values {
            do {
                _ = try key.kit.open(passphrase: key.passphrase, tenantCode: key.kit.tenantCode)
            } catch let error as RenkeiCrypto.CryptoError {
                throw RestoreError(.keys, "recovery kit of municipality \(key.kit.tenantCode): \(error.message). Nothing was restored", cause: error)
            } catch {
                throw RestoreError(.keys, "recovery kit of municipality \(key.kit.tenantCode) cannot be opened. Nothing was restored", cause: RestoreCause(error))
            }
        }

        let staging = Self.stagingPath(for: target)
        if FileManager.default.fileExists(atPath: staging) {
            logger.notice("removing the leftovers of an interrupted restore", metadata: ["path": "\(staging)"])
            try? FileManager.default.removeItem(atPath: staging)
        }
        do {
            let report = try await restore(request, node: node, plan: plan, keys: keys, staging: staging, target: target,
                                           started: started, progress: progress)
            return report
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    // MARK: Steps

    private func restore(
        _ request: RestoreRequest, node: String, plan: RestorePlan, keys: [MunicipalityCode: RestoreKey], staging: String,
        target: String, started: ContinuousClock.Instant, progress: (RestoreProgress) -> Void
    ) async throws(RestoreError) -> RestoreReport {
        let directory = NodeDirectory(staging)
        try Self.makeDirectory(staging)
        try Self.makeDirectory(directory.keysDirectory)
        try Self.makeDirectory(directory.databasePath)
        let (files, bytes) = try await fetchBase(plan, node: node, code: request.code, directory: directory, progress: progress)

        var options = DatabaseOptions(createIfMissing: plan.base == nil)
        options.changeLog = true
        var applied = 0
        var segmentsRead = 0
        var lastApplied = plan.baseSeq
        var lastCommitTimeMs: UInt64? = plan.base?.coversCommitTimeMs
        var infos: [TenantInfo] = []
        do {
            let db: Database
            do {
                db = try Database.open(path: directory.databasePath, options: options)
            } catch {
                throw RestoreError(.corrupt, "the database of snapshot \(plan.base?.id ?? "(none)") does not open", cause: RestoreCause(error))
            }
            let filter = request.code.map(TenantFilter.init)
            if let filter { try filter.strip(db) }
            let applier: ChangeApplier
            do {
                applier = try ChangeApplier(target: db, after: plan.baseSeq, keepChangeLog: filter == nil,
                                            include: filter.map { f in { name, key in f.includes(family: name, key: key) } } ?? { _, _ in true })
            } catch {
                throw RestoreError(.corrupt, "the change log of snapshot \(plan.base?.id ?? "(none)") does not end at change \(plan.baseSeq), the change the vault says it covers", cause: error)
            }
            replay: for segment in plan.segments {
                let records = try await fetchSegment(segment, node: node)
                segmentsRead += 1
                for record in records where record.seq >= plan.replayFrom {
                    if let stop = plan.stopAfterCommitTimeMs, record.commitTimeMs > stop { break replay }
                    if let stop = request.throughSeq, record.seq > stop { break replay }
                    do {
                        try applier.apply(ChangeRecord(seq: record.seq, commitTimeMs: record.commitTimeMs, payload: record.payload))
                    } catch {
                        throw RestoreError(error.code == .corrupt ? .corrupt : .io,
                            "change \(record.seq) from segment \(segment.name) cannot be applied: \(error.message)", cause: error)
                    }
                    applied += 1
                    lastApplied = record.seq
                    lastCommitTimeMs = record.commitTimeMs
                    if applied % 10_000 == 0 { progress(.replaying(seq: lastApplied, of: plan.lastSeq)) }
                }
            }
            progress(.replaying(seq: lastApplied, of: plan.lastSeq))
            if let stop = request.throughSeq, lastApplied != stop {
                throw RestoreError(.gap, "node \(node): the restore was asked to end at change \(stop), but the vault's base and segments reach only \(lastApplied); refusing to restore anything else")
            }
            if request.throughSeq == nil, plan.stopAfterCommitTimeMs == nil, lastApplied != plan.lastSeq {
                throw RestoreError(.gap, "node \(node): the vault's catalog lists changes up to \(plan.lastSeq), but its segments ended at \(lastApplied); refusing to restore less")
            }
            if filter != nil {
                // A one-tenant restore starts a new lineage; its log must not
                // keep the source's entries (which hold other tenants' data).
                try storage("discarding the copied change log") { try db.discardChanges(through: db.lastChangeSequence) }
            }
            try storage("syncing the restored database") { try db.syncWAL() }
            infos = try Self.tenantInfos(db)
        }
        // The database is closed here (its last reference is gone).

        let hosted = Set(infos.map(\.code))
        if let code = request.code, !hosted.contains(code) {
            throw RestoreError(.notFound, "node \(node) does not hold municipality \(code) at the restore point; nothing was restored")
        }
        let missing = hosted.subtracting(keys.keys).sorted()
        guard missing.isEmpty else {
            throw RestoreError(.keys,
                "no recovery kit was given for municipalities \(missing.map(\.rawValue).joined(separator: ", ")) of node \(node): without its kit a tenant cannot be opened. Give --recovery-kit for each, or restore single tenants with --code. Nothing was restored")
        }
        let extra = Set(keys.keys).subtracting(hosted).sorted()
        guard extra.isEmpty else {
            throw RestoreError(.invalidArgument,
                "recovery kits were given for municipalities \(extra.map(\.rawValue).joined(separator: ", ")), which the restored node \(node) does not hold at the restore point. Nothing was restored")
        }

        progress(.openingTenants)
        let master = try Self.writeIdentity(directory)
        var fingerprints: [MunicipalityCode: String] = [:]
        for code in hosted.sorted() {
            let key = keys[code]!
            do throws(NodeError) {
                let installed = try NodeStore.installRecoveryKit(key.kit, passphrase: key.passphrase, for: code, into: directory, logger: logger)
                fingerprints[code] = installed.keyringFingerprint
            } catch {
                throw RestoreError(.keys, "recovery kit of municipality \(code): \(error.message)", cause: error)
            }
        }
        var tenants: [RestoredTenant] = []
        do throws(NodeError) {
            let store = try NodeStore.open(directory, logger: logger)
            for info in store.tenants {
                let counts = try store.tenant(info.code).counts()
                tenants.append(RestoredTenant(code: info.code, name: info.name, counts: counts, keyringFingerprint: fingerprints[info.code] ?? ""))
            }
        } catch {
            throw RestoreError(.keys, "the restored node does not open: \(error.message)", cause: error)
        }
        try Self.moveIntoPlace(staging, target)
        let elapsed = ContinuousClock.now - started
        let report = RestoreReport(
            node: node, code: request.code, target: target, snapshotID: plan.base?.id, baseSeq: plan.baseSeq,
            lastSeq: lastApplied, lastCommitTimeMs: lastApplied == 0 ? nil : lastCommitTimeMs, pointInTimeMs: request.pointInTimeMs,
            snapshotFiles: files, snapshotBytes: bytes, segmentsRead: segmentsRead, changesApplied: applied, tenants: tenants,
            masterKeyFingerprint: master.fingerprint,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        logger.notice("restore finished", metadata: [
            "node": "\(node)", "to": "\(target)", "last-seq": "\(lastApplied)", "changes": "\(applied)",
            "tenants": "\(tenants.count)",
        ])
        return report
    }

    /// Fetches and verifies the base snapshot's files into `directory`.
    /// Returns the files and bytes written.
    private func fetchBase(
        _ plan: RestorePlan, node: String, code: MunicipalityCode?, directory: NodeDirectory,
        progress: (RestoreProgress) -> Void
    ) async throws(RestoreError) -> (Int, UInt64) {
        guard let base = plan.base else { return (0, 0) }
        guard base.files.count <= limits.maxSnapshotFiles else {
            throw RestoreError(.limit, "snapshot \(base.id) lists \(base.files.count) files; the limit is \(limits.maxSnapshotFiles)")
        }
        let total = base.totalBytes
        var done: UInt64 = 0
        var written = 0
        var lastReport = ContinuousClock.now
        for file in base.files.sorted(by: { $0.name < $1.name }) {
            let path: String
            if file.name.hasPrefix(SnapshotLayout.databasePrefix) {
                let rest = String(file.name.dropFirst(SnapshotLayout.databasePrefix.count))
                guard !rest.isEmpty, !rest.contains("/") else {
                    throw RestoreError(.corrupt, "snapshot \(base.id) of node \(node) has a database file in a subdirectory (\(file.name)); checkpoints are flat")
                }
                path = directory.databasePath + "/" + rest
            } else if let tenant = SnapshotLayout.keyringCode(of: file.name) {
                // A one-tenant restore takes no other tenant's keys.
                if let code, tenant != code.rawValue { continue }
                path = directory.keysDirectory + "/" + tenant + SnapshotLayout.keyringSuffix
            } else if file.name == SnapshotLayout.manifestFile {
                // The source node's manifest: the restore writes its own,
                // with the new master key's fingerprint.
                continue
            } else {
                throw RestoreError(.corrupt, "snapshot \(base.id) of node \(node) has a file \(file.name) that is neither under db/, a keys/<code>.keyring file nor node.json")
            }
            guard file.size <= limits.maxSnapshotFileBytes else {
                throw RestoreError(.limit, "snapshot \(base.id) file \(file.name) has \(file.size) bytes; the limit is \(limits.maxSnapshotFileBytes)")
            }
            let fetched = try await source.fetchSnapshotFile(node: node, snapshotID: base.id, name: file.name, maxBytes: file.size, to: path)
            guard fetched.size == file.size, fetched.sha256 == file.sha256 else {
                throw RestoreError(.corrupt,
                    "snapshot \(base.id) of node \(node): file \(file.name) fails its check (\(fetched.size) bytes, SHA-256 \(fetched.sha256); the manifest says \(file.size) bytes, \(file.sha256)) — the vault's copy is damaged")
            }
            done += file.size
            written += 1
            if ContinuousClock.now - lastReport > .milliseconds(200) {
                progress(.fetchingSnapshot(bytes: done, of: total))
                lastReport = ContinuousClock.now
            }
        }
        progress(.fetchingSnapshot(bytes: done, of: total))
        return (written, done)
    }

    /// Fetches one segment and checks its size, SHA-256, LZ4 checksums and records.
    private func fetchSegment(_ segment: RestoreCatalog.Segment, node: String) async throws(RestoreError) -> [VaultRecord] {
        let maxBytes = limits.maxSegmentBytes + limits.maxSegmentBytes / 255 + (1 << 16)
        guard segment.size <= UInt64(maxBytes) else {
            throw RestoreError(.limit, "segment \(segment.name) of node \(node) has \(segment.size) bytes; the limit is \(maxBytes)")
        }
        let frame = try await source.fetchSegment(node: node, name: segment.name, maxBytes: Int(segment.size))
        let sha = SnapshotLayout.hex(SHA256.hash(data: frame))
        guard UInt64(frame.count) == segment.size, sha == segment.sha256 else {
            throw RestoreError(.corrupt,
                "segment \(segment.name) of node \(node) (changes \(segment.firstSeq)–\(segment.lastSeq)) fails its check (\(frame.count) bytes, SHA-256 \(sha); the catalog says \(segment.size) bytes, \(segment.sha256)) — the vault's copy is damaged")
        }
        let records: [VaultRecord]
        do throws(VaultError) {
            records = try SegmentReader.records(frame: frame, name: segment.name, limits: limits)
        } catch {
            throw RestoreError(.corrupt, "segment \(segment.name) of node \(node): \(error.message)", cause: error)
        }
        guard let first = records.first, let last = records.last, first.seq == segment.firstSeq, last.seq == segment.lastSeq,
              records.count == Int(segment.lastSeq - segment.firstSeq + 1)
        else {
            throw RestoreError(.corrupt, "segment \(segment.name) of node \(node) does not hold exactly changes \(segment.firstSeq)–\(segment.lastSeq)")
        }
        return records
    }

    private func resolveNode(_ request: RestoreRequest) async throws(RestoreError) -> String {
        if let node = request.node { return node }
        guard let code = request.code else {
            throw RestoreError(.invalidArgument, "name the node to restore (--node) or the municipality (--code)")
        }
        guard let nodes = try await source.nodes() else {
            throw RestoreError(.invalidArgument, "\(source.description) cannot list its nodes; name the node that hosts \(code) with --node")
        }
        var hosts: [String] = []
        for node in nodes {
            let catalog = try await source.catalog(node: node)
            let name = SnapshotLayout.keyringFile(code: code.rawValue)
            if catalog.snapshots.max(by: { $0.coversSeq < $1.coversSeq })?.files.contains(where: { $0.name == name }) == true {
                hosts.append(node)
            }
        }
        guard hosts.count == 1 else {
            throw RestoreError(hosts.isEmpty ? .notFound : .invalidArgument, hosts.isEmpty
                ? "no node in \(source.description) has a base snapshot holding municipality \(code); name the node with --node"
                : "several nodes in \(source.description) hold municipality \(code) (\(hosts.joined(separator: ", "))); name one with --node")
        }
        return hosts[0]
    }

    // MARK: Helpers

    static func checkKeys(_ request: RestoreRequest) throws(RestoreError) -> [MunicipalityCode: RestoreKey] {
        var keys: [MunicipalityCode: RestoreKey] = [:]
        for key in request.keys {
            let code: MunicipalityCode
            do {
                code = try MunicipalityCode(key.kit.tenantCode)
            } catch {
                throw RestoreError(.invalidArgument, "a recovery kit names '\(key.kit.tenantCode)', which is not a municipality code")
            }
            if let wanted = request.code, code != wanted {
                throw RestoreError(.invalidArgument, "the recovery kit is for municipality \(code), not \(wanted); use the kit made for \(wanted)")
            }
            guard keys[code] == nil else {
                throw RestoreError(.invalidArgument, "two recovery kits were given for municipality \(code); give one")
            }
            keys[code] = key
        }
        if let code = request.code, keys[code] == nil {
            throw RestoreError(.keys, "restoring municipality \(code) needs its recovery kit (--recovery-kit): without it the restored data cannot be opened")
        }
        if keys.isEmpty {
            throw RestoreError(.keys, "a restore needs the recovery kit of each tenant it restores (--recovery-kit)")
        }
        return keys
    }

    static func checkTarget(_ target: String) throws(RestoreError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: target, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw RestoreError(.invalidArgument, "\(target) exists and is not a directory; restore into a new or empty directory")
            }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? ["?"]
            guard entries.isEmpty else {
                throw RestoreError(.invalidArgument, "\(target) is not empty; restore into a new or empty directory (nothing was changed)")
            }
        }
        let parent = (target as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: parent.isEmpty ? "." : parent, isDirectory: &isDir), isDir.boolValue else {
            throw RestoreError(.invalidArgument, "the parent directory of \(target) does not exist")
        }
    }

    /// A hidden sibling of the target, so the final rename stays on one file system.
    static func stagingPath(for target: String) -> String {
        let parent = (target as NSString).deletingLastPathComponent
        let base = (target as NSString).lastPathComponent
        return (parent.isEmpty ? "." : parent) + "/." + base + ".restoring"
    }

    static func makeDirectory(_ path: String) throws(RestoreError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw RestoreError(.io, "cannot create \(path)", cause: RestoreCause(error))
        }
    }

    /// A new master key and `node.json` naming it: the restored node's own identity.
    static func writeIdentity(_ directory: NodeDirectory) throws(RestoreError) -> MasterKey {
        do {
            let master = try MasterKey.create(atPath: directory.defaultMasterKeyPath)
            let manifest = NodeManifest(nodeID: UUID().uuidString.lowercased(), createdAt: Date().ISO8601Format(),
                                        masterKeyFingerprint: master.fingerprint)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try SecureFile.writeAtomically(Array(try encoder.encode(manifest)) + [0x0A], toPath: directory.manifestPath, mode: 0o644)
            return master
        } catch {
            throw RestoreError(.io, "cannot write the restored node's master key and node.json", cause: RestoreCause(error))
        }
    }

    static func tenantInfos(_ db: Database) throws(RestoreError) -> [TenantInfo] {
        var infos: [TenantInfo] = []
        var failure: RestoreError?
        try storage("reading the restored tenants") {
            try db.scan(prefix: Array(TenantFilter.tenantKeyPrefix.utf8), in: db.defaultColumnFamily) { _, value in
                do {
                    infos.append(try JSONDecoder().decode(TenantInfo.self, from: Data(value)))
                    return true
                } catch {
                    failure = RestoreError(.corrupt, "a tenant entry of the restored node cannot be decoded", cause: RestoreCause(error))
                    return false
                }
            }
        }
        if let failure { throw failure }
        return infos
    }

    /// Renames the finished directory to `target` (an empty directory is replaced).
    static func moveIntoPlace(_ staging: String, _ target: String) throws(RestoreError) {
        if rename(staging, target) != 0 {
            let err = errno
            throw RestoreError(.io, "cannot move the restored node from \(staging) to \(target): \(String(cString: strerror(err)))")
        }
        let parent = (target as NSString).deletingLastPathComponent
        let fd = open(parent.isEmpty ? "." : parent, O_RDONLY)
        if fd >= 0 {
            _ = fsync(fd)
            _ = close(fd)
        }
    }
}

/// Runs a RocksDB call, turning its error into a `RestoreError`.
@discardableResult
func storage<T>(_ what: String, _ body: () throws -> T) throws(RestoreError) -> T {
    do {
        return try body()
    } catch let error as RestoreError {
        throw error
    } catch {
        throw RestoreError(.io, "\(what): \(error)", cause: RestoreCause(error))
    }
}
