/// One node's footprint in the vault, for `renkei backup status` and metrics.
public struct VaultNodeUsage: Sendable, Equatable {
    public let node: String
    /// Bytes on disk of segments, sidecars and snapshots; a file hard-linked
    /// into several snapshots counts once.
    public let bytes: UInt64
    public let segmentCount: Int
    /// 0 when the vault holds no change of the node.
    public let lastSeq: UInt64
    public let lastCommitTimeMs: UInt64
    public let snapshotCount: Int
    public let latestSnapshotID: String?
    public let latestSnapshotCreatedTimeMs: UInt64?
    /// Age of the latest snapshot at the time asked for, `nil` without one.
    public let latestSnapshotAgeMs: UInt64?
}

extension VaultStore {
    /// The node's usage at `nowMs` (for the snapshot's age).
    public func usage(node: String, nowMs: UInt64 = VaultClock.nowMs()) throws(VaultError) -> VaultNodeUsage {
        try withNode(node, create: false) { (layout, state) throws(VaultError) -> VaultNodeUsage in
            var seen = Set<[UInt64]>()
            var bytes: UInt64 = 0
            if VaultFiles.isDirectory(layout.dir) {
                for rel in try VaultFiles.walkFiles(layout.dir) {
                    guard let st = try VaultFiles.fileStat(layout.dir + "/" + rel) else { continue }
                    if seen.insert([st.device, st.inode]).inserted { bytes += st.size }
                }
            }
            let segmentCount = try SegmentListing.scan(layout).segments.count
            let snapshots = try NodeDisk.manifests(layout)
            let latest = snapshots.last
            return VaultNodeUsage(
                node: layout.node, bytes: bytes, segmentCount: segmentCount,
                lastSeq: state.lastSeq, lastCommitTimeMs: state.lastCommitTimeMs,
                snapshotCount: snapshots.count, latestSnapshotID: latest?.id,
                latestSnapshotCreatedTimeMs: latest?.createdTimeMs,
                latestSnapshotAgeMs: latest.map { nowMs > $0.createdTimeMs ? nowMs - $0.createdTimeMs : 0 }
            )
        }
    }
}
