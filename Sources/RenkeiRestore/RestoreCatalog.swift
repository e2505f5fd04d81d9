import RenkeiVault

/// What a vault holds for one node, as a restore needs it: base snapshots
/// and change segments, each with its checksums. Built by a `VaultSource`
/// (from the vault's files or its `Catalog` call).
public struct RestoreCatalog: Sendable, Equatable {
    /// One base snapshot.
    public struct Snapshot: Sendable, Equatable {
        public let id: String
        /// The last change the snapshot holds.
        public let coversSeq: UInt64
        /// Commit time of change `coversSeq`, when the source knows it (the
        /// vault's files do; the gRPC catalog does not carry it).
        public let coversCommitTimeMs: UInt64?
        /// When the vault committed the snapshot (vault clock): every change it
        /// holds was committed before this, so it bounds `coversCommitTimeMs`.
        public let createdTimeMs: UInt64
        public let files: [SnapshotFileSpec]

        public init(id: String, coversSeq: UInt64, coversCommitTimeMs: UInt64?, createdTimeMs: UInt64, files: [SnapshotFileSpec]) {
            self.id = id
            self.coversSeq = coversSeq
            self.coversCommitTimeMs = coversCommitTimeMs
            self.createdTimeMs = createdTimeMs
            self.files = files
        }

        /// Total bytes of the snapshot's files.
        public var totalBytes: UInt64 { files.reduce(0) { $0 + $1.size } }
    }

    /// One change segment.
    public struct Segment: Sendable, Equatable {
        /// The segment's file name in the vault.
        public let name: String
        public let firstSeq: UInt64
        public let lastSeq: UInt64
        public let firstCommitTimeMs: UInt64
        public let lastCommitTimeMs: UInt64
        public let size: UInt64
        /// SHA-256 of the stored (compressed) file, lowercase hex.
        public let sha256: String

        public init(name: String, firstSeq: UInt64, lastSeq: UInt64, firstCommitTimeMs: UInt64, lastCommitTimeMs: UInt64, size: UInt64, sha256: String) {
            self.name = name
            self.firstSeq = firstSeq
            self.lastSeq = lastSeq
            self.firstCommitTimeMs = firstCommitTimeMs
            self.lastCommitTimeMs = lastCommitTimeMs
            self.size = size
            self.sha256 = sha256
        }
    }

    public let node: String
    public let snapshots: [Snapshot]
    public let segments: [Segment]
    /// The last change the vault recorded as stored for the node, when the
    /// source knows it (the vault's head file): a restore to the latest
    /// state must reach it, so a lost newest segment is a gap, not a
    /// silently older restore.
    public let storedSeq: UInt64?

    public init(node: String, snapshots: [Snapshot], segments: [Segment], storedSeq: UInt64? = nil) {
        self.node = node
        self.snapshots = snapshots
        self.segments = segments
        self.storedSeq = storedSeq
    }

    /// The highest change sequence number the catalog holds (0 for none).
    public var lastSeq: UInt64 {
        max(segments.map(\.lastSeq).max() ?? 0, snapshots.map(\.coversSeq).max() ?? 0)
    }
}

extension RestoreCatalog.Snapshot {
    /// From a vault manifest (which knows the covered change's commit time).
    public init(_ manifest: SnapshotManifest) {
        self.init(id: manifest.id, coversSeq: manifest.coversSeq,
                  coversCommitTimeMs: manifest.coversSeq == 0 ? 0 : manifest.coversCommitTimeMs,
                  createdTimeMs: manifest.createdTimeMs, files: manifest.files)
    }
}

extension RestoreCatalog.Segment {
    /// From a vault segment's metadata.
    public init(_ info: SegmentInfo) {
        self.init(name: info.fileName, firstSeq: info.firstSeq, lastSeq: info.lastSeq,
                  firstCommitTimeMs: info.firstCommitTimeMs, lastCommitTimeMs: info.maxCommitTimeMs,
                  size: info.byteSize, sha256: info.sha256)
    }
}
