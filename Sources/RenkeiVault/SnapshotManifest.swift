/// One file of a base snapshot: a RocksDB checkpoint file or one of the
/// node's wrapped key files.
public struct SnapshotFileSpec: Sendable, Equatable, Hashable, Codable {
    /// Relative name, e.g. `000012.sst` or `keys/322016.keyring`
    /// (see `VaultNames.validateFileName`).
    public let name: String
    public let size: UInt64
    /// SHA-256 of the file, lowercase hex.
    public let sha256: String

    public init(name: String, size: UInt64, sha256: String) {
        self.name = name
        self.size = size
        self.sha256 = sha256
    }
}

/// A committed base snapshot: `snapshots/<id>/manifest.json`.
public struct SnapshotManifest: Sendable, Equatable, Codable {
    public static let currentFormat = 1

    public let format: Int
    public let node: String
    public let id: String
    /// The snapshot holds every change up to and including this sequence
    /// number; a restore rolls forward from the next one.
    public let coversSeq: UInt64
    /// Commit time of change `coversSeq` (0 when it is 0): the earliest
    /// point in time this snapshot can be a restore's base for.
    public let coversCommitTimeMs: UInt64
    /// When the vault committed the snapshot (vault clock).
    public let createdTimeMs: UInt64
    public let files: [SnapshotFileSpec]

    public init(node: String, id: String, coversSeq: UInt64, coversCommitTimeMs: UInt64, createdTimeMs: UInt64, files: [SnapshotFileSpec]) {
        self.format = SnapshotManifest.currentFormat
        self.node = node
        self.id = id
        self.coversSeq = coversSeq
        self.coversCommitTimeMs = coversCommitTimeMs
        self.createdTimeMs = createdTimeMs
        self.files = files
    }

    /// Bytes of all files.
    public var totalBytes: UInt64 { files.reduce(0) { $0 + $1.size } }

    /// Order of snapshots: by the changes they cover, then creation, then id.
    public static func olderFirst(_ a: SnapshotManifest, _ b: SnapshotManifest) -> Bool {
        (a.coversSeq, a.createdTimeMs, a.id) < (b.coversSeq, b.createdTimeMs, b.id)
    }
}
