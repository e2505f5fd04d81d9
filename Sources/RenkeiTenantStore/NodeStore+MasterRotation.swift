#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiStore

extension NodeDirectory {
    /// `DATA/keys/derivation-root.sealed`: the root of the audit and access
    /// keys, sealed under the master key; only on a node whose master key was
    /// rotated (ADR 0011).
    public var derivationRootPath: String { keysDirectory + "/derivation-root.sealed" }

    /// `DATA/keys/master-rotation.json`: present while a master key rotation
    /// is under way; names the key file and the old key's fingerprint.
    public var masterRotationStatePath: String { keysDirectory + "/master-rotation.json" }
}

extension NodeStore {
    /// The key file `source` names in `directory`; nil for a key given in
    /// the environment.
    public static func masterKeyPath(_ directory: NodeDirectory, source: MasterKeySource) -> String? {
        switch source {
        case .dataDirectory: directory.defaultMasterKeyPath
        case .file(let path): path
        case .hex: nil
        }
    }

    /// Refuses to load the master key of a node whose rotation stopped half
    /// way: its keyrings may be under either key, and its `node.json` may
    /// name either, so nothing may use it until `rotate-master` finishes.
    static func refuseInterruptedRotation(_ directory: NodeDirectory, source: MasterKeySource) throws(NodeError) {
        let fm = FileManager.default
        let next = masterKeyPath(directory, source: source).map(MasterKeyRotation.nextPath(of:))
        if fm.fileExists(atPath: directory.masterRotationStatePath) || next.map(fm.fileExists(atPath:)) == true {
            throw NodeError(.keys,
                "a master key rotation was interrupted; run renkei key rotate-master --data \(directory.root) to finish (\(directory.masterRotationStatePath) or \(next ?? "the .next key file") exists)")
        }
    }
}

/// Replaces a stopped node's master key: every tenant keyring re-wrapped
/// under a new key, the audit and access keys unchanged (ADR 0011).
///
/// Every step is idempotent and the whole is resumable after a crash at any
/// point: `run` reads what is on disk and does what is left.
///
/// 1. `newKey`: `DATA/keys/master-rotation.json` (the state file: key path
///    and old fingerprint), then the new key at `<key>.next` (O_EXCL; reused
///    when it exists). From here on every opener of the node refuses.
/// 2. `rewrap`: the derivation root sealed under the new key
///    (`derivation-root.sealed`; the old key's bytes if the node never had
///    one), then each keyring file re-wrapped, atomically one file at a
///    time. A keyring that already opens under the new key is left alone.
/// 3. `manifest`: `node.json` names the new fingerprint (atomic replace).
/// 4. `install`: the old key file overwritten with zeros, `<key>.next`
///    renamed over it, a `master-key-rotated` entry in every hosted
///    municipality's audit log (once each), the state file removed.
///
/// Holds the database open (RocksDB's lock) from start to end: that proves
/// the node is stopped and keeps it stopped.
public struct MasterKeyRotation: Sendable {
    /// The steps, in order.
    public enum Step: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
        case newKey = 1
        case rewrap = 2
        case manifest = 3
        case install = 4

        public static func < (a: Step, b: Step) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .newKey: "new key"
            case .rewrap: "re-wrap keyrings"
            case .manifest: "node.json"
            case .install: "install new key"
            }
        }
    }

    /// What `run` reports as it goes; never key material.
    public enum Event: Sendable, Equatable {
        /// The fingerprints of the key being replaced and its replacement;
        /// `resumed` when an interrupted rotation is being finished.
        case keys(old: String, new: String, resumed: Bool)
        /// `done` of `total` keyring files now wrapped under the new key.
        case rewrapped(done: Int, total: Int)
        /// A step is complete (on disk, synced).
        case stepDone(Step)
    }

    /// What a finished rotation did.
    public struct Report: Sendable, Equatable {
        public let oldFingerprint: String
        public let newFingerprint: String
        /// Keyring files re-wrapped by this run (fewer than all when resumed).
        public let keyringsRewrapped: Int
        /// Keyring files on the node.
        public let keyrings: Int
        /// Municipalities whose audit log got the master-key-rotated entry in this run.
        public let auditLogsRecorded: Int
        /// This run finished a rotation an earlier run began.
        public let resumed: Bool
    }

    /// The on-disk state file. Field names are the format.
    struct State: Codable, Equatable {
        var format: Int = 1
        var keyPath: String
        var oldFingerprint: String
        var startedAt: String
    }

    public let directory: NodeDirectory
    /// The master key file being replaced.
    public let keyPath: String

    /// - Parameter keyPath: the node's master key file; nil for `DATA/master.key`.
    public init(directory: NodeDirectory, keyPath: String? = nil) {
        self.directory = directory
        self.keyPath = keyPath ?? directory.defaultMasterKeyPath
    }

    /// Where the new key waits until step 4.
    public static func nextPath(of keyPath: String) -> String { keyPath + ".next" }

    var nextPath: String { Self.nextPath(of: keyPath) }

    /// Whether a rotation of this node was begun and not finished.
    public var isInterrupted: Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: directory.masterRotationStatePath) || fm.fileExists(atPath: nextPath)
    }

    /// Runs (or finishes) the rotation.
    ///
    /// - Parameters:
    ///   - stoppingAfter: stop after this step, as if the process died there
    ///     (tests of resumption); nil runs to the end.
    ///   - events: progress, on the calling thread.
    /// - Throws: `.conflict` if the database is locked (the node is
    ///   running); `.keys` if a key does not load, is not the node's, or a
    ///   keyring opens under neither key (nothing after that is changed);
    ///   `.notInitialized`; `.storage` for I/O failures.
    @discardableResult
    public func run(
        stoppingAfter: Step? = nil, logger: Logger, events: (Event) -> Void = { _ in }
    ) throws(NodeError) -> Report {
        guard directory.exists else {
            throw NodeError(.notInitialized, "\(directory.root) is not a node data directory (no node.json)")
        }
        // Passed down, so it stays open (locked) until the steps return.
        let db = try lockDatabase()
        return try steps(db: db, stoppingAfter: stoppingAfter, logger: logger, events: events)
    }

    private func steps(
        db: Database, stoppingAfter: Step?, logger: Logger, events: (Event) -> Void
    ) throws(NodeError) -> Report {
        let fm = FileManager.default
        var manifest = try NodeStore.readManifest(directory)
        var resumed = true
        let state: State
        if let existing = try readState() {
            guard existing.keyPath == keyPath else {
                throw NodeError(.invalidArgument,
                    "the interrupted rotation was of the key file \(existing.keyPath), not \(keyPath); run it again with --master-key-file \(existing.keyPath)")
            }
            state = existing
        } else {
            guard !fm.fileExists(atPath: nextPath) else {
                throw NodeError(.keys,
                    "\(nextPath) exists but no rotation is recorded (\(directory.masterRotationStatePath) is missing); it was not made by renkei key rotate-master. Move it away and run again")
            }
            // Fresh start: the old key must be this node's and open its root.
            let old = try loadKey(keyPath, expecting: manifest.masterKeyFingerprint, what: "the current master key")
            _ = try withRoot(old)
            state = State(keyPath: keyPath, oldFingerprint: old.fingerprint, startedAt: Date().ISO8601Format())
            try writeState(state)
            resumed = false
        }
        // The old key is needed until node.json names the new one.
        let rewrapDone = manifest.masterKeyFingerprint != state.oldFingerprint

        // Step 1: the new key.
        var newKey: MasterKey
        if fm.fileExists(atPath: nextPath) {
            newKey = try loadNextKey(rewrapDone: rewrapDone)
        } else if rewrapDone {
            // Step 4 renamed it into place already.
            newKey = try loadKey(keyPath, expecting: manifest.masterKeyFingerprint, what: "the new master key")
        } else {
            newKey = try createNextKey()
        }
        if rewrapDone && newKey.fingerprint != manifest.masterKeyFingerprint {
            throw NodeError(.keys,
                "\(directory.manifestPath) names master key \(manifest.masterKeyFingerprint), which is neither the key being replaced (\(state.oldFingerprint)) nor the new one (\(newKey.fingerprint)); restore the data directory from a copy")
        }
        events(.keys(old: state.oldFingerprint, new: newKey.fingerprint, resumed: resumed))
        events(.stepDone(.newKey))
        if stoppingAfter == .newKey { return report(state, newKey, 0, 0, 0, resumed) }

        // Step 2: derivation root and keyrings under the new key.
        let keyrings = keyringFiles()
        var rewrapped = 0
        if !rewrapDone {
            let old = try withRoot(try loadKey(keyPath, expecting: state.oldFingerprint, what: "the old master key"),
                                   orUnder: newKey)
            newKey = try sealRoot(old: old, new: newKey)
            for (index, file) in keyrings.enumerated() {
                if try rewrap(file, old: old, new: newKey) { rewrapped += 1 }
                events(.rewrapped(done: index + 1, total: keyrings.count))
            }
            logger.info("keyrings re-wrapped under the new master key", metadata: [
                "keyrings": "\(keyrings.count)", "rewrapped": "\(rewrapped)",
            ])
        } else {
            newKey = try withRoot(newKey)
        }
        events(.stepDone(.rewrap))
        if stoppingAfter == .rewrap { return report(state, newKey, rewrapped, keyrings.count, 0, resumed) }

        // Step 3: node.json names the new key.
        if !rewrapDone {
            manifest.masterKeyFingerprint = newKey.fingerprint
            try writeManifest(manifest)
        }
        events(.stepDone(.manifest))
        if stoppingAfter == .manifest { return report(state, newKey, rewrapped, keyrings.count, 0, resumed) }

        // Step 4: the new key in place, the audit trail, the state file gone.
        if fm.fileExists(atPath: nextPath) {
            try installNextKey()
        }
        let recorded = try recordInAuditLogs(db: db, key: newKey, old: state.oldFingerprint, logger: logger)
        do {
            try FileManager.default.removeItem(atPath: directory.masterRotationStatePath)
            try syncDirectory(directory.keysDirectory)
        } catch {
            throw NodeError(.storage, "cannot remove \(directory.masterRotationStatePath)", cause: error)
        }
        logger.notice("master key rotated", metadata: ["old": "\(state.oldFingerprint)", "new": "\(newKey.fingerprint)"])
        events(.stepDone(.install))
        return report(state, newKey, rewrapped, keyrings.count, recorded, resumed)
    }

    private func report(_ state: State, _ key: MasterKey, _ rewrapped: Int, _ keyrings: Int, _ recorded: Int, _ resumed: Bool) -> Report {
        Report(oldFingerprint: state.oldFingerprint, newFingerprint: key.fingerprint, keyringsRewrapped: rewrapped,
               keyrings: keyrings, auditLogsRecorded: recorded, resumed: resumed)
    }

    // MARK: Steps

    /// Opening the database takes RocksDB's LOCK file: it fails while a node
    /// (or any other tool) has the database open.
    private func lockDatabase() throws(NodeError) -> Database {
        var options = DatabaseOptions()
        options.createIfMissing = false
        do {
            return try Database.open(path: directory.databasePath, options: options.withChangeLog)
        } catch {
            let text = "\(error)"
            if text.localizedCaseInsensitiveContains("lock") {
                throw NodeError(.conflict,
                    "the node's database \(directory.databasePath) is locked: the node (or another renkei command) is running. Stop the node first; the master key can only be rotated offline",
                    cause: error)
            }
            throw NodeError(.storage, "cannot open the database in \(directory.databasePath): \(text)", cause: error)
        }
    }

    private func loadKey(_ path: String, expecting fingerprint: String, what: String) throws(NodeError) -> MasterKey {
        let key: MasterKey
        do {
            key = try MasterKey.load(fromPath: path)
        } catch {
            throw NodeError(.keys, "cannot load \(what) from \(path): \(error)", cause: error)
        }
        guard key.fingerprint == fingerprint else {
            throw NodeError(.keys, "\(what) in \(path) has fingerprint \(key.fingerprint), not \(fingerprint) as expected; is --master-key-file the node's key?")
        }
        return key
    }

    /// `key` with the derivation root file applied if it opens under it;
    /// a node never rotated has none and derives from the key itself.
    /// With `orUnder`, a root already re-sealed under that (new) key is
    /// accepted too, and its root is taken.
    private func withRoot(_ key: MasterKey, orUnder other: MasterKey? = nil) throws(NodeError) -> MasterKey {
        let path = directory.derivationRootPath
        guard FileManager.default.fileExists(atPath: path) else { return key }
        let sealed: [UInt8]
        do {
            sealed = try SecureFile.readAll(atPath: path)
        } catch {
            throw NodeError(.storage, "cannot read \(path)", cause: error)
        }
        if let applied = try? key.applyingDerivationRoot(sealed: sealed) { return applied }
        if let other, let applied = try? other.applyingDerivationRoot(sealed: sealed) {
            return key.adoptingDerivationRoot(of: applied)
        }
        throw NodeError(.keys, "\(path) opens under neither the old nor the new master key; restore it from a copy of the data directory")
    }

    /// The new key, sealing the old key's root under it unless that is done.
    private func sealRoot(old: MasterKey, new: MasterKey) throws(NodeError) -> MasterKey {
        let path = directory.derivationRootPath
        if FileManager.default.fileExists(atPath: path),
           let sealed = try? SecureFile.readAll(atPath: path),
           let applied = try? new.applyingDerivationRoot(sealed: sealed) {
            return applied
        }
        let adopted = new.adoptingDerivationRoot(of: old)
        do {
            try SecureFile.writeAtomically(try adopted.sealedDerivationRoot(), toPath: path, mode: 0o600)
        } catch {
            throw NodeError(.storage, "cannot write \(path)", cause: error)
        }
        return adopted
    }

    private func createNextKey() throws(NodeError) -> MasterKey {
        do {
            return try MasterKey.create(atPath: nextPath)
        } catch {
            throw NodeError(.keys, "cannot create the new master key \(nextPath): \(error)", cause: error)
        }
    }

    /// The `.next` key of an earlier run. `MasterKey.create` syncs it before
    /// anything is sealed under it, so one shorter than a key (65 bytes)
    /// was cut off while being written, before any use, and is made again.
    private func loadNextKey(rewrapDone: Bool) throws(NodeError) -> MasterKey {
        do {
            return try MasterKey.load(fromPath: nextPath)
        } catch let error as CryptoError where error.code == .keyFileMalformed && !rewrapDone {
            let size = (try? FileManager.default.attributesOfItem(atPath: nextPath)[.size] as? Int) ?? Int.max
            guard size < 65 else {
                throw NodeError(.keys, "the new master key \(nextPath) is malformed: \(error.message); it may already wrap keyrings, so it is not replaced. Restore it from a copy", cause: error)
            }
            _ = unlink(nextPath)
            return try createNextKey()
        } catch {
            throw NodeError(.keys, "cannot load the new master key \(nextPath): \(error)", cause: error)
        }
    }

    /// Every `*.keyring` file in the keys directory, sorted: hosted tenants
    /// and any keyring a crashed `tenant add` left, so none stays behind under the old key.
    private func keyringFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.keysDirectory)) ?? []
        return names.filter { $0.hasSuffix(".keyring") && !$0.hasPrefix(".") }.sorted()
    }

    /// Re-wraps one keyring file; false if it was under the new key already.
    private func rewrap(_ name: String, old: MasterKey, new: MasterKey) throws(NodeError) -> Bool {
        let path = directory.keysDirectory + "/" + name
        let code = String(name.dropLast(".keyring".count))
        let bytes: [UInt8]
        do {
            bytes = try SecureFile.readAll(atPath: path)
        } catch {
            throw NodeError(.storage, "cannot read \(path)", cause: error)
        }
        if (try? TenantKeyring.open(bytes, tenantCode: code, master: new)) != nil { return false }
        let keyring: TenantKeyring
        do {
            keyring = try TenantKeyring.open(bytes, tenantCode: code, master: old)
        } catch {
            throw NodeError(.keys,
                "the keyring of tenant \(code) (\(path)) opens under neither the old nor the new master key: \(error). The rotation stopped; node.json still names the old key",
                cause: error)
        }
        do {
            try keyring.save(toPath: path, with: new)
        } catch {
            throw NodeError(.storage, "cannot write the re-wrapped keyring \(path)", cause: error)
        }
        return true
    }

    private func writeManifest(_ manifest: NodeManifest) throws(NodeError) {
        try NodeStore.writeManifest(manifest, to: directory)
    }

    /// Overwrites the old key file with zeros (best effort, as
    /// `SecureFile.erase`; skipped for a symbolic link) and renames the new
    /// key over it. A crash between the two leaves a zeroed key file and
    /// `.next`: node.json names the new key by then, so the rerun only renames.
    private func installNextKey() throws(NodeError) {
        let fd = open(keyPath, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            var st = stat()
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
                let zeros = [UInt8](repeating: 0, count: Int(st.st_size))
                _ = zeros.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
                _ = fsync(fd)
            }
            _ = close(fd)
        }
        guard rename(nextPath, keyPath) == 0 else {
            let err = errno
            throw NodeError(.storage, "cannot rename \(nextPath) to \(keyPath): \(String(cString: strerror(err)))")
        }
        do {
            try syncDirectory((keyPath as NSString).deletingLastPathComponent)
        } catch {
            throw NodeError(.storage, "cannot sync the directory of \(keyPath)", cause: error)
        }
    }

    /// Appends `master-key-rotated` to each hosted municipality's log,
    /// skipping a log whose last entry is already this rotation's (a rerun
    /// after a crash in the middle of this step).
    private func recordInAuditLogs(db: Database, key: MasterKey, old: String, logger: Logger) throws(NodeError) -> Int {
        let detail = "old=\(old) new=\(key.fingerprint)"
        let logs = AuditLogs(directory: directory.auditDirectory, masterKey: key, logger: logger)
        var recorded = 0
        for code in try hostedCodes(db) {
            let path = AuditLogs.logPath(directory: logs.directory, code: code)
            if FileManager.default.fileExists(atPath: path),
               let last = try? AuditVerifier.verify(path: path, code: code, key: key.auditKey(for: code.rawValue), keepingLast: 1).lastEntries.last,
               last.event == .masterKeyRotated, last.detail == detail {
                continue
            }
            do throws(AuditError) {
                _ = try logs.log(for: code).append(AuditRecord(event: .masterKeyRotated, outcome: .ok, detail: detail))
            } catch {
                throw NodeError(.storage,
                    "the key was rotated, but the operation log of \(code) could not record it: \(error.message). Run renkei key rotate-master again to retry",
                    cause: error)
            }
            recorded += 1
        }
        return recorded
    }

    private func hostedCodes(_ db: Database) throws(NodeError) -> [MunicipalityCode] {
        var codes: [MunicipalityCode] = []
        do {
            try db.scan(prefix: NodeStore.tenantPrefix, in: db.defaultColumnFamily) { key, _ in
                if let code = try? MunicipalityCode(String(decoding: key.dropFirst(NodeStore.tenantPrefix.count), as: UTF8.self)) {
                    codes.append(code)
                }
                return true
            }
        } catch {
            throw NodeError(.storage, "cannot list the tenants in the node metadata", cause: error)
        }
        return codes.sorted()
    }

    // MARK: State file

    private func readState() throws(NodeError) -> State? {
        let path = directory.masterRotationStatePath
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let state = try JSONDecoder().decode(State.self, from: Data(try SecureFile.readAll(atPath: path)))
            guard state.format == 1 else {
                throw NodeError(.corrupted, "\(path) has format \(state.format); this renkei reads format 1")
            }
            return state
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError(.corrupted, "cannot read \(path)", cause: error)
        }
    }

    private func writeState(_ state: State) throws(NodeError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try SecureFile.writeAtomically(Array(try encoder.encode(state)) + [0x0A], toPath: directory.masterRotationStatePath, mode: 0o600)
        } catch {
            throw NodeError(.storage, "cannot write \(directory.masterRotationStatePath)", cause: error)
        }
    }

    private func syncDirectory(_ path: String) throws {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw NodeError(.storage, "cannot open directory \(path) to sync it") }
        defer { _ = close(fd) }
        guard fsync(fd) == 0 else { throw NodeError(.storage, "cannot sync directory \(path)") }
    }
}
