/// The bounds every vault operation works within. A request beyond one
/// fails with `.limit` before anything is written.
public struct VaultLimits: Sendable, Equatable {
    /// Records in one `append` batch, and so in one segment.
    public var maxRecordsPerSegment: Int
    /// Bytes of one record's payload (one committed write of a node).
    public var maxPayloadBytes: Int
    /// Decompressed bytes of one segment; also the most a reader holds in
    /// memory for one segment.
    public var maxSegmentBytes: Int
    /// Files in one base snapshot.
    public var maxSnapshotFiles: Int
    /// Bytes of one snapshot file.
    public var maxSnapshotFileBytes: UInt64
    /// Bytes of one snapshot chunk, written or read.
    public var maxChunkBytes: Int

    public init(
        maxRecordsPerSegment: Int = 100_000,
        maxPayloadBytes: Int = 8 << 20,
        maxSegmentBytes: Int = 64 << 20,
        maxSnapshotFiles: Int = 100_000,
        maxSnapshotFileBytes: UInt64 = 64 << 30,
        maxChunkBytes: Int = 4 << 20
    ) {
        self.maxRecordsPerSegment = maxRecordsPerSegment
        self.maxPayloadBytes = maxPayloadBytes
        self.maxSegmentBytes = maxSegmentBytes
        self.maxSnapshotFiles = maxSnapshotFiles
        self.maxSnapshotFileBytes = maxSnapshotFileBytes
        self.maxChunkBytes = maxChunkBytes
    }
}

/// One change of a node as the vault stores it: the node's change-log
/// sequence number, its commit time, and the change itself as opaque bytes
/// (ciphertext and blind-index keys; the vault never decodes it).
public struct VaultRecord: Sendable, Equatable {
    /// The node's change-log sequence number: 1, 2, 3, … without gaps.
    public let seq: UInt64
    /// When the node committed the change, Unix milliseconds (node clock).
    public let commitTimeMs: UInt64
    public let payload: [UInt8]

    public init(seq: UInt64, commitTimeMs: UInt64, payload: [UInt8]) {
        self.seq = seq
        self.commitTimeMs = commitTimeMs
        self.payload = payload
    }
}
