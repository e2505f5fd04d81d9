/// What retention removes from one node: a decision, made without I/O.
public struct RetentionPlan: Sendable, Equatable {
    /// Snapshot ids to delete.
    public var deleteSnapshots: [String]
    /// Segment file names to delete.
    public var deleteSegments: [String]
    /// The oldest snapshot kept: every change after it stays.
    public var oldestKeptSnapshot: String?

    public init(deleteSnapshots: [String] = [], deleteSegments: [String] = [], oldestKeptSnapshot: String? = nil) {
        self.deleteSnapshots = deleteSnapshots
        self.deleteSegments = deleteSegments
        self.oldestKeptSnapshot = oldestKeptSnapshot
    }

    public var isEmpty: Bool { deleteSnapshots.isEmpty && deleteSegments.isEmpty }
}

/// The retention policy: keep the newest `keepSnapshots` base snapshots and
/// `keepChangeDays` days of changes.
///
/// A segment is deleted only when both hold: every change in it is older
/// than `keepChangeDays` days, and it is fully covered by the oldest kept
/// snapshot (its last change is at or below that snapshot's `coversSeq`).
/// So a restore can always roll forward from any kept snapshot. Without any
/// snapshot no change is deleted, however old: the changes are then the
/// only copy.
public struct VaultRetention: Sendable, Equatable {
    public static let dayMs: UInt64 = 86_400_000

    public let keepChangeDays: Int
    public let keepSnapshots: Int

    /// - Throws: `.limit` unless `keepChangeDays >= 0` and `keepSnapshots >= 1`
    ///   (the last snapshot is never deleted).
    public init(keepChangeDays: Int, keepSnapshots: Int) throws(VaultError) {
        guard keepChangeDays >= 0, keepChangeDays <= 36_500 else {
            throw VaultError(.limit, "retention: keepChangeDays must be 0 to 36500; got \(keepChangeDays)")
        }
        guard keepSnapshots >= 1, keepSnapshots <= 10_000 else {
            throw VaultError(.limit, "retention: keepSnapshots must be 1 to 10000 (the last snapshot is never deleted); got \(keepSnapshots)")
        }
        self.keepChangeDays = keepChangeDays
        self.keepSnapshots = keepSnapshots
    }

    /// Decides what to delete from one node's snapshots and segments at `nowMs`.
    public func plan(snapshots: [SnapshotManifest], segments: [SegmentInfo], nowMs: UInt64) -> RetentionPlan {
        let ordered = snapshots.sorted(by: SnapshotManifest.olderFirst)
        let kept = ordered.suffix(keepSnapshots)
        guard let oldestKept = kept.first else { return RetentionPlan() }
        let deleteSnapshots = ordered.dropLast(keepSnapshots).map(\.id)
        let keepFromMs = nowMs >= UInt64(keepChangeDays) * Self.dayMs ? nowMs - UInt64(keepChangeDays) * Self.dayMs : 0
        let deleteSegments = segments
            .filter { $0.maxCommitTimeMs < keepFromMs && $0.lastSeq <= oldestKept.coversSeq }
            .map(\.fileName)
        return RetentionPlan(deleteSnapshots: deleteSnapshots, deleteSegments: deleteSegments, oldestKeptSnapshot: oldestKept.id)
    }
}

extension VaultStore {
    /// Applies `retention` to one node at `nowMs` and returns what it
    /// deleted. Segments go first (each one's file, then its sidecar), then
    /// snapshots, each renamed to a hidden name before its files are
    /// removed so a half-deleted snapshot is never read as one.
    @discardableResult
    public func applyRetention(node: String, _ retention: VaultRetention, nowMs: UInt64) throws(VaultError) -> RetentionPlan {
        try withNode(node, create: false) { (layout, state) throws(VaultError) -> RetentionPlan in
            guard VaultFiles.isDirectory(layout.dir) else { return RetentionPlan() }
            var infos: [SegmentInfo] = []
            for segment in try SegmentListing.scan(layout).segments {
                infos.append(try NodeDisk.readMeta(layout, segment.name))
            }
            let plan = retention.plan(snapshots: try NodeDisk.manifests(layout), segments: infos, nowMs: nowMs)
            // The head must hold the last sequence before the segments that
            // also record it can go.
            if !plan.deleteSegments.isEmpty { try writeHead(layout, state) }
            for name in plan.deleteSegments {
                try VaultFiles.remove(layout.segmentPath(name))
                try VaultFiles.remove(layout.metaPath(name))
            }
            if !plan.deleteSegments.isEmpty { try VaultFiles.syncDirectory(layout.segmentsDir) }
            for id in plan.deleteSnapshots {
                let trash = layout.snapshotsDir + "/.trash-" + id
                try VaultFiles.removeTree(trash)
                try VaultFiles.renameFile(layout.snapshotDir(id), trash)
                try VaultFiles.syncDirectory(layout.snapshotsDir)
                try VaultFiles.removeTree(trash)
            }
            if !plan.isEmpty {
                logger.info("vault: retention deleted old data", metadata: [
                    "node": "\(layout.node)", "segments": "\(plan.deleteSegments.count)", "snapshots": "\(plan.deleteSnapshots.count)",
                ])
            }
            return plan
        }
    }
}
