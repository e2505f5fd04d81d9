import Crypto
import Foundation
import RenkeiVault

/// Where a restore reads a vault from: the vault's own files, or its gRPC
/// API. Implementations only move bytes; `Restorer` checks every size and
/// SHA-256 against the catalog.
public protocol VaultSource: Sendable {
    /// Where this source reads from, for messages (no secrets).
    var description: String { get }
    /// The node names the vault holds, or `nil` if this source cannot list them.
    func nodes() async throws(RestoreError) -> [String]?
    /// What the vault holds for `node`.
    func catalog(node: String) async throws(RestoreError) -> RestoreCatalog
    /// A segment file's stored bytes; refuses more than `maxBytes`.
    func fetchSegment(node: String, name: String, maxBytes: Int) async throws(RestoreError) -> [UInt8]
    /// Copies a snapshot file to `path` (created, must not exist), refusing
    /// more than `maxBytes`; returns the size and SHA-256 of what it wrote.
    func fetchSnapshotFile(node: String, snapshotID: String, name: String, maxBytes: UInt64, to path: String) async throws(RestoreError) -> FetchedFile
}

/// What a fetch wrote: its size and SHA-256 (lowercase hex).
public struct FetchedFile: Sendable, Equatable {
    public let size: UInt64
    public let sha256: String
}

/// Writes a file chunk by chunk while hashing it. Not thread-safe: one fetch.
final class HashingFileWriter {
    let path: String
    let maxBytes: UInt64
    private let handle: FileHandle
    private var hasher = SHA256()
    private(set) var size: UInt64 = 0

    init(path: String, maxBytes: UInt64) throws(RestoreError) {
        self.path = path
        self.maxBytes = maxBytes
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path)
        else {
            throw RestoreError(.io, "cannot create \(path)")
        }
        self.handle = handle
    }

    func write(_ bytes: [UInt8], at offset: UInt64? = nil) throws(RestoreError) {
        if let offset, offset != size {
            throw RestoreError(.vault, "a chunk of \(path) arrived at offset \(offset), expected \(size)")
        }
        guard size + UInt64(bytes.count) <= maxBytes else {
            throw RestoreError(.limit, "\(path) would grow past the \(maxBytes) bytes the catalog states")
        }
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw RestoreError(.io, "cannot write \(path)", cause: RestoreCause(error))
        }
        hasher.update(data: bytes)
        size += UInt64(bytes.count)
    }

    /// Syncs and closes the file.
    func finish() throws(RestoreError) -> FetchedFile {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw RestoreError(.io, "cannot write \(path)", cause: RestoreCause(error))
        }
        return FetchedFile(size: size, sha256: SnapshotLayout.hex(hasher.finalize()))
    }

    func abandon() { try? handle.close() }
}

/// A vault data directory read directly, without the vault process: DR
/// staff holding the vault's disks, or a copy of them. Read-only: it takes
/// no lock, writes nothing and ignores the vault's work-in-progress files
/// (hidden names), so it can read a live vault's directory too.
///
/// Reads the layout `VaultStore` writes: `nodes/<node>/segments/` (each
/// segment with its `.meta` sidecar) and `nodes/<node>/snapshots/<id>/`
/// (`manifest.json`, `files/<name>`).
public struct LocalVaultSource: VaultSource {
    public let root: String

    /// - Throws: `.notFound` if `root` is not a vault data directory (no `nodes/`).
    public init(root: String) throws(RestoreError) {
        let root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root + "/nodes", isDirectory: &isDir), isDir.boolValue else {
            throw RestoreError(.notFound, "\(root) is not a vault data directory (it has no nodes/ directory)")
        }
        self.root = root
    }

    /// Whether `path` looks like a vault data directory.
    public static func isVaultDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path + "/nodes", isDirectory: &isDir) && isDir.boolValue
    }

    public var description: String { "the vault directory \(root)" }

    private func nodeDir(_ node: String) throws(RestoreError) -> String {
        do throws(VaultError) {
            try VaultNames.validateNode(node)
        } catch {
            throw RestoreError(.invalidArgument, "'\(node)' is not a node name: \(error.message)")
        }
        return root + "/nodes/" + node
    }

    public func nodes() async throws(RestoreError) -> [String]? {
        try list(root + "/nodes").filter { !$0.hasPrefix(".") }
    }

    public func catalog(node: String) async throws(RestoreError) -> RestoreCatalog {
        let dir = try nodeDir(node)
        guard FileManager.default.fileExists(atPath: dir) else {
            throw RestoreError(.notFound, "\(description) holds nothing for node \(node)")
        }
        var segments: [RestoreCatalog.Segment] = []
        let segmentsDir = dir + "/segments"
        for name in try list(segmentsDir) where name.hasSuffix(".seg.lz4.meta") && !name.hasPrefix(".") {
            let info = try decode(SegmentInfo.self, path: segmentsDir + "/" + name)
            guard info.fileName + ".meta" == name else {
                throw RestoreError(.corrupt, "nodes/\(node)/segments/\(name) describes another segment (\(info.fileName))")
            }
            guard FileManager.default.fileExists(atPath: segmentsDir + "/" + info.fileName) else {
                throw RestoreError(.notFound, "nodes/\(node)/segments/\(info.fileName) is missing (its metadata is there)")
            }
            segments.append(RestoreCatalog.Segment(info))
        }
        for name in try list(segmentsDir) where name.hasSuffix(".seg.lz4") && !name.hasPrefix(".") {
            guard FileManager.default.fileExists(atPath: segmentsDir + "/" + name + ".meta") else {
                throw RestoreError(.corrupt, "nodes/\(node)/segments/\(name) has no metadata file")
            }
        }
        var snapshots: [RestoreCatalog.Snapshot] = []
        let snapshotsDir = dir + "/snapshots"
        for id in try list(snapshotsDir) where !id.hasPrefix(".") {
            let manifest = try decode(SnapshotManifest.self, path: snapshotsDir + "/" + id + "/manifest.json")
            guard manifest.id == id, manifest.node == node else {
                throw RestoreError(.corrupt, "nodes/\(node)/snapshots/\(id)/manifest.json names another snapshot or node")
            }
            snapshots.append(RestoreCatalog.Snapshot(manifest))
        }
        var storedSeq: UInt64?
        if FileManager.default.fileExists(atPath: dir + "/head.json") {
            storedSeq = try decode(StoredHead.self, path: dir + "/head.json").lastSeq
        }
        return RestoreCatalog(node: node, snapshots: snapshots, segments: segments.sorted { $0.firstSeq < $1.firstSeq }, storedSeq: storedSeq)
    }

    public func fetchSegment(node: String, name: String, maxBytes: Int) async throws(RestoreError) -> [UInt8] {
        let path = try nodeDir(node) + "/segments/" + name
        try checkName(name)
        return try readWhole(path, maxBytes: maxBytes)
    }

    public func fetchSnapshotFile(node: String, snapshotID: String, name: String, maxBytes: UInt64, to path: String) async throws(RestoreError) -> FetchedFile {
        try checkName(snapshotID)
        try checkName(name)
        let source = try nodeDir(node) + "/snapshots/" + snapshotID + "/files/" + name
        guard let input = FileHandle(forReadingAtPath: source) else {
            throw RestoreError(.notFound, "nodes/\(node)/snapshots/\(snapshotID)/files/\(name) is missing from \(description)")
        }
        defer { try? input.close() }
        let writer = try HashingFileWriter(path: path, maxBytes: maxBytes)
        do {
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                try writer.write(Array(chunk))
            }
        } catch let error as RestoreError {
            writer.abandon()
            throw error
        } catch {
            writer.abandon()
            throw RestoreError(.io, "cannot read \(source)", cause: RestoreCause(error))
        }
        return try writer.finish()
    }

    // MARK: Private

    /// `head.json`: the vault's record of the node's last stored change.
    private struct StoredHead: Decodable {
        let lastSeq: UInt64
    }

    private func checkName(_ name: String) throws(RestoreError) {
        do throws(VaultError) {
            try VaultNames.validateFileName(name)
        } catch {
            throw RestoreError(.invalidArgument, "'\(name)' is not a vault file name")
        }
    }

    private func list(_ dir: String) throws(RestoreError) -> [String] {
        guard FileManager.default.fileExists(atPath: dir) else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        } catch {
            throw RestoreError(.io, "cannot list \(dir)", cause: RestoreCause(error))
        }
    }

    private func readWhole(_ path: String, maxBytes: Int) throws(RestoreError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RestoreError(.notFound, "\(path) is missing")
        }
        defer { try? handle.close() }
        do {
            let data = try handle.read(upToCount: maxBytes + 1) ?? Data()
            guard data.count <= maxBytes else {
                throw RestoreError(.limit, "\(path) is larger than \(maxBytes) bytes")
            }
            return Array(data)
        } catch let error as RestoreError {
            throw error
        } catch {
            throw RestoreError(.io, "cannot read \(path)", cause: RestoreCause(error))
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, path: String) throws(RestoreError) -> T {
        let bytes = try readWhole(path, maxBytes: 64 << 20)
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw RestoreError(.corrupt, "\(path) cannot be read", cause: RestoreCause(error))
        }
    }
}
