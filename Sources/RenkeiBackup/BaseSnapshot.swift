import Foundation
import Synchronization
import GRPCCore
import NIOPosix
import RenkeiStore
import RenkeiTenantStore
import RenkeiVault
import RenkeiWire

/// A base snapshot of a node, staged on the node, as it goes to the vault.
///
/// The layout (`db/…`, `keys/CODE.keyring`, `node.json`) is
/// `SnapshotLayout`'s (RenkeiVault), which `renkei restore` reads back.
/// `coversSeq` is the last change entry the checkpoint contains (exact: the
/// checkpoint is taken under the change log's sequence lock), and the
/// vault treats it as the node's last shipped sequence once the snapshot is
/// committed. The id is `yyyyMMdd'T'HHmmssSSS'Z'-<coversSeq>` (UTC), so ids
/// sort by time and name what they cover.
public struct BaseSnapshot: Sendable, Equatable {
    public var id: String
    public var coversSeq: UInt64
    public var createdUnixMillis: UInt64
    /// Each file's name, size and SHA-256, and where it is staged on the node.
    public var files: [SnapshotLayout.SourceFile]
}

/// What uploading a snapshot did.
public struct SnapshotResult: Sendable, Equatable {
    public var id: String
    public var coversSeq: UInt64
    public var createdUnixMillis: UInt64
    /// Files in the snapshot.
    public var files: Int
    /// Files the vault needed (the rest it linked from its previous snapshot).
    public var sentFiles: Int
    /// Bytes sent.
    public var sentBytes: UInt64
}

/// Takes base snapshots of a node and uploads them to the vault.
///
/// The checkpoint is staged in `<data>/backup-staging` (same file system,
/// so RocksDB hard-links its table files instead of copying them), hashed,
/// sent, and removed. A staging directory left by a crash is removed by
/// `removeStaging()` at start-up.
///
/// Threading: `prepare()` and `removeStaging()` block (a RocksDB checkpoint,
/// a directory walk, SHA-256 of every file); `take(to:)` runs them, and each
/// file read of the upload, on NIO's thread pool, so the cooperative pool
/// (two threads on a small node) keeps serving while a snapshot is taken.
/// Only the gRPC calls stay async.
public struct BaseSnapshotter: Sendable {
    public let database: Database
    public let directory: NodeDirectory

    /// Largest chunk of a file per FileChunk (the contract's 1 MiB).
    public static let chunkBytes = 1 << 20

    public init(database: Database, directory: NodeDirectory) {
        self.database = database
        self.directory = directory
    }

    /// Where snapshots are staged.
    public var stagingPath: String { directory.root + "/backup-staging" }

    /// Removes the staging directory, if any.
    public func removeStaging() throws(BackupError) {
        guard FileManager.default.fileExists(atPath: stagingPath) else { return }
        do {
            try FileManager.default.removeItem(atPath: stagingPath)
        } catch {
            throw BackupError(.storage, "cannot remove the snapshot staging directory \(stagingPath)", cause: error.asSendable)
        }
    }

    /// Stages a snapshot: a checkpoint of the database, copies of the key
    /// files and `node.json`, every file hashed. Blocking.
    ///
    /// - Parameter discardingChangeLog: discard the whole change log (and
    ///   compact it away) before the checkpoint. For a vault that holds no
    ///   base yet, no entry up to now can ever be shipped usefully (the
    ///   snapshot holds their effect), and without this the first snapshot
    ///   of a loaded node carries every write twice: once in its tables,
    ///   once in `__changelog` (measured: 259 MB for 130 MB of data).
    public func prepare(now: Date = Date(), discardingChangeLog: Bool = false) throws(BackupError) -> BaseSnapshot {
        try removeStaging()
        let fm = FileManager.default
        let dbDir = stagingPath + "/db", keysDir = stagingPath + "/keys"
        if discardingChangeLog {
            do {
                try database.discardChanges(through: database.lastChangeSequence)
                try database.compactChangeLog()
            } catch {
                throw BackupError(.storage, "cannot discard the change log before the first base snapshot", cause: error)
            }
        }
        let coversSeq: UInt64
        do {
            try fm.createDirectory(atPath: keysDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            coversSeq = try database.createCheckpoint(at: dbDir) ?? 0
        } catch {
            throw BackupError(.storage, "cannot create a checkpoint in \(dbDir)", cause: error.asSendable)
        }
        let manifestCopy = stagingPath + "/" + SnapshotLayout.manifestFile
        var hasManifest = false
        do {
            // Key files after the checkpoint: a tenant added in between only
            // adds a keyring; a deleted (shredded) one is simply absent.
            let keyNames = (try? fm.contentsOfDirectory(atPath: directory.keysDirectory)) ?? []
            for name in keyNames.sorted() where name.hasSuffix(SnapshotLayout.keyringSuffix) {
                try fm.copyItem(atPath: directory.keysDirectory + "/" + name, toPath: keysDir + "/" + name)
            }
            if fm.fileExists(atPath: directory.manifestPath) {
                try fm.copyItem(atPath: directory.manifestPath, toPath: manifestCopy)
                hasManifest = true
            }
        } catch {
            throw BackupError(.storage, "cannot stage the snapshot in \(stagingPath)", cause: error.asSendable)
        }
        let files: [SnapshotLayout.SourceFile]
        do throws(VaultError) {
            files = try SnapshotLayout.files(checkpointPath: dbDir, keysDirectory: keysDir,
                                             manifestPath: hasManifest ? manifestCopy : nil)
        } catch {
            throw BackupError(.storage, "cannot list and hash the staged snapshot in \(stagingPath)", cause: error)
        }
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        return BaseSnapshot(id: Self.snapshotID(millis: millis, coversSeq: coversSeq), coversSeq: coversSeq,
                            createdUnixMillis: millis, files: files)
    }

    /// `yyyyMMdd'T'HHmmssSSS'Z'-<coversSeq>`, UTC.
    public static func snapshotID(millis: UInt64, coversSeq: UInt64) -> String {
        let date = Date(timeIntervalSince1970: Double(millis / 1000))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ v: Int?, _ n: Int) -> String {
            let s = String(v ?? 0)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2)
            + pad(c.second, 2) + pad(Int(millis % 1000), 3) + "Z-" + String(coversSeq)
    }

    /// Sends a staged snapshot: BeginSnapshot, the files the vault needs in
    /// chunks of at most 1 MiB, CommitSnapshot.
    public func upload<T: ClientTransport>(_ snapshot: BaseSnapshot, to vault: Renkei_Vault_V1_Vault.Client<T>) async throws -> SnapshotResult {
        var begin = Renkei_Vault_V1_BeginSnapshotRequest()
        begin.snapshotID = snapshot.id
        begin.coversSeq = snapshot.coversSeq
        begin.createdUnixMillis = snapshot.createdUnixMillis
        begin.files = snapshot.files.map { f in
            var file = Renkei_Vault_V1_SnapshotFile()
            file.name = f.spec.name
            file.sizeBytes = f.spec.size
            file.sha256 = f.spec.sha256
            return file
        }
        let needed = try await vault.beginSnapshot(begin).needed
        let byName = Dictionary(snapshot.files.map { ($0.spec.name, $0) }, uniquingKeysWith: { a, _ in a })
        var sentBytes: UInt64 = 0
        for name in needed {
            guard let file = byName[name] else {
                throw BackupError(.protocolViolation, "the vault asked for \(name), which snapshot \(snapshot.id) does not have")
            }
            let id = snapshot.id, path = file.path, size = file.spec.size
            _ = try await vault.putSnapshotFile(requestProducer: { writer in
                let reader = try await Self.offPool { () throws(BackupError) in try ChunkReader(path: path) }
                defer { reader.close() }
                var offset: UInt64 = 0
                repeat {
                    let data = try await Self.offPool { () throws(BackupError) in try reader.next(Self.chunkBytes) }
                    var chunk = Renkei_Vault_V1_FileChunk()
                    if offset == 0 {
                        chunk.snapshotID = id
                        chunk.name = name
                    }
                    chunk.offset = offset
                    chunk.data = data
                    try await writer.write(chunk)
                    offset += UInt64(data.count)
                    if data.isEmpty || offset >= size { break }
                } while true
            })
            sentBytes += size
        }
        var commit = Renkei_Vault_V1_CommitSnapshotRequest()
        commit.snapshotID = snapshot.id
        _ = try await vault.commitSnapshot(commit)
        return SnapshotResult(id: snapshot.id, coversSeq: snapshot.coversSeq, createdUnixMillis: snapshot.createdUnixMillis,
                              files: snapshot.files.count, sentFiles: needed.count, sentBytes: sentBytes)
    }

    /// Prepares (off the cooperative pool), uploads, and removes the staging
    /// directory (also on failure).
    /// - Parameter discardingChangeLog: see `prepare`; for a vault without a base.
    public func take<T: ClientTransport>(to vault: Renkei_Vault_V1_Vault.Client<T>, discardingChangeLog: Bool = false) async throws -> SnapshotResult {
        let snapshotter = self
        let snapshot = try await Self.offPool { () throws(BackupError) in
            try snapshotter.prepare(discardingChangeLog: discardingChangeLog)
        }
        let result: SnapshotResult
        do {
            result = try await upload(snapshot, to: vault)
        } catch {
            await removeStagingOffPool()
            throw error
        }
        await removeStagingOffPool()
        return result
    }

    /// Removes the staging directory off the cooperative pool, or right
    /// here if the task is cancelled (NIO's pool skips the work of a
    /// cancelled task, and the staging copy must not outlive a stopping
    /// shipper). A failure is left for the next start's removal.
    public func removeStagingOffPool() async {
        let snapshotter = self
        do {
            try await Self.offPool { () throws(BackupError) in try snapshotter.removeStaging() }
        } catch {
            try? removeStaging()
        }
    }

    /// Runs blocking `body` on NIO's thread pool. A pool that is not running
    /// (only at process exit) is reported as a storage error.
    static func offPool<R: Sendable>(_ body: @escaping @Sendable () throws(BackupError) -> R) async throws(BackupError) -> R {
        do {
            return try await NIOThreadPool.singleton.runIfActive { () throws -> R in try body() }
        } catch let error as BackupError {
            throw error
        } catch {
            throw BackupError(.storage, "the blocking-I/O thread pool is not running", cause: error.asSendable)
        }
    }
}

/// Reads one staged file in pieces; used from NIO's thread pool, one call
/// at a time (the upload awaits each piece before asking for the next).
final class ChunkReader: Sendable {
    // FileHandle is not Sendable; the lock makes handing the reader to the
    // thread pool safe (the upload never reads two pieces at once anyway).
    private let handle: Mutex<FileHandle>
    private let path: String

    init(path: String) throws(BackupError) {
        guard let opened = FileHandle(forReadingAtPath: path) else {
            throw BackupError(.storage, "cannot read \(path) for the snapshot")
        }
        self.handle = Mutex(opened)
        self.path = path
    }

    func next(_ maxBytes: Int) throws(BackupError) -> Data {
        let path = path
        return try handle.withLock { h throws(BackupError) -> Data in
            do {
                return try h.read(upToCount: maxBytes) ?? Data()
            } catch {
                throw BackupError(.storage, "cannot read \(path) for the snapshot", cause: error.asSendable)
            }
        }
    }

    func close() { handle.withLock { try? $0.close() } }
}

/// An error as something Sendable to keep as a cause (its description only).
struct ErrorDescription: Error, Sendable, CustomStringConvertible {
    let description: String
}

extension Error {
    var asSendable: any Error & Sendable {
        ErrorDescription(description: "\(self)")
    }
}
