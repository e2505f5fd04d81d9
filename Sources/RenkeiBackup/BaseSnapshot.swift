import Crypto
import Foundation
import GRPCCore
import RenkeiStore
import RenkeiTenantStore
import RenkeiWire

/// A base snapshot of a node, as the node sends it to the vault and as
/// `renkei restore` reads it back.
///
/// Layout (every name relative to the snapshot; the vault stores the files
/// under these names, with size and SHA-256 in its manifest):
///
/// ```
/// db/<file>            every file of a RocksDB checkpoint of the node's
///                      database (CURRENT, MANIFEST-*, OPTIONS-*, *.sst,
///                      *.log), flat: opening the directory `db/` with
///                      RocksDB gives the database as of `coversSeq`,
///                      including its `__changelog` family (whose entries
///                      the vault may also hold: restore applies change
///                      entries after `coversSeq` only)
/// keys/<CODE>.keyring  each tenant's keyring file, byte for byte: data and
///                      index keys wrapped under the node's master key
///                      (useless without it or the tenant's recovery kit)
/// node.json            the node's manifest (node id, format, master key
///                      fingerprint; no secret)
/// ```
///
/// Never in a snapshot: `master.key`, the audit logs, the admin socket.
/// `coversSeq` is the last change entry the checkpoint contains (exact: the
/// checkpoint is taken under the change log's sequence lock), and the
/// vault treats it as the node's last shipped sequence once the snapshot is
/// committed. The id is `yyyyMMdd'T'HHmmssSSS'Z'-<coversSeq>` (UTC), so ids
/// sort by time and name what they cover.
public struct BaseSnapshot: Sendable, Equatable {
    /// One file: its name in the snapshot, size and lowercase hex SHA-256.
    public struct File: Sendable, Equatable {
        public var name: String
        public var sizeBytes: UInt64
        public var sha256: String
        /// Where the file is on the node (in the staging directory).
        public var path: String
    }

    public var id: String
    public var coversSeq: UInt64
    public var createdUnixMillis: UInt64
    public var files: [File]

    /// Directory prefixes of the layout.
    public static let databasePrefix = "db/"
    public static let keysPrefix = "keys/"
    public static let manifestName = "node.json"
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
    /// files and `node.json`, every file hashed.
    public func prepare(now: Date = Date()) throws(BackupError) -> BaseSnapshot {
        try removeStaging()
        let fm = FileManager.default
        let dbDir = stagingPath + "/db", keysDir = stagingPath + "/keys"
        let coversSeq: UInt64
        do {
            try fm.createDirectory(atPath: keysDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            coversSeq = try database.createCheckpoint(at: dbDir) ?? 0
        } catch {
            throw BackupError(.storage, "cannot create a checkpoint in \(dbDir)", cause: error.asSendable)
        }
        var files: [BaseSnapshot.File] = []
        do {
            for name in try fm.contentsOfDirectory(atPath: dbDir).sorted() {
                files.append(try Self.describe(dbDir + "/" + name, as: BaseSnapshot.databasePrefix + name))
            }
            // Key files after the checkpoint: a tenant added in between only
            // adds a keyring; a deleted (shredded) one is simply absent.
            let keyNames = (try? fm.contentsOfDirectory(atPath: directory.keysDirectory)) ?? []
            for name in keyNames.sorted() where name.hasSuffix(".keyring") {
                let copy = keysDir + "/" + name
                try fm.copyItem(atPath: directory.keysDirectory + "/" + name, toPath: copy)
                files.append(try Self.describe(copy, as: BaseSnapshot.keysPrefix + name))
            }
            if fm.fileExists(atPath: directory.manifestPath) {
                let copy = stagingPath + "/" + BaseSnapshot.manifestName
                try fm.copyItem(atPath: directory.manifestPath, toPath: copy)
                files.append(try Self.describe(copy, as: BaseSnapshot.manifestName))
            }
        } catch let error as BackupError {
            throw error
        } catch {
            throw BackupError(.storage, "cannot stage the snapshot in \(stagingPath)", cause: error.asSendable)
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

    static func describe(_ path: String, as name: String) throws(BackupError) -> BaseSnapshot.File {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BackupError(.storage, "cannot read \(path) for the snapshot")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: UInt64 = 0
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                size += UInt64(chunk.count)
            }
        } catch {
            throw BackupError(.storage, "cannot read \(path) for the snapshot", cause: error.asSendable)
        }
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return BaseSnapshot.File(name: name, sizeBytes: size, sha256: hex, path: path)
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
            file.name = f.name
            file.sizeBytes = f.sizeBytes
            file.sha256 = f.sha256
            return file
        }
        let needed = try await vault.beginSnapshot(begin).needed
        let byName = Dictionary(snapshot.files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var sentBytes: UInt64 = 0
        for name in needed {
            guard let file = byName[name] else {
                throw BackupError(.protocolViolation, "the vault asked for \(name), which snapshot \(snapshot.id) does not have")
            }
            let id = snapshot.id, path = file.path
            _ = try await vault.putSnapshotFile(requestProducer: { writer in
                guard let handle = FileHandle(forReadingAtPath: path) else {
                    throw BackupError(.storage, "cannot read \(path) for the snapshot")
                }
                defer { try? handle.close() }
                var offset: UInt64 = 0
                repeat {
                    let data = try handle.read(upToCount: Self.chunkBytes) ?? Data()
                    var chunk = Renkei_Vault_V1_FileChunk()
                    if offset == 0 {
                        chunk.snapshotID = id
                        chunk.name = name
                    }
                    chunk.offset = offset
                    chunk.data = data
                    try await writer.write(chunk)
                    offset += UInt64(data.count)
                    if data.isEmpty || offset >= file.sizeBytes { break }
                } while true
            })
            sentBytes += file.sizeBytes
        }
        var commit = Renkei_Vault_V1_CommitSnapshotRequest()
        commit.snapshotID = snapshot.id
        _ = try await vault.commitSnapshot(commit)
        return SnapshotResult(id: snapshot.id, coversSeq: snapshot.coversSeq, createdUnixMillis: snapshot.createdUnixMillis,
                              files: snapshot.files.count, sentFiles: needed.count, sentBytes: sentBytes)
    }

    /// Prepares, uploads and removes the staging directory (also on failure).
    public func take<T: ClientTransport>(to vault: Renkei_Vault_V1_Vault.Client<T>) async throws -> SnapshotResult {
        let snapshot = try prepare()
        defer { try? removeStaging() }
        return try await upload(snapshot, to: vault)
    }
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
