/// Which base snapshot a restore starts from and which change segments it
/// replays on top, decided from a catalog alone (no I/O).
///
/// The rules:
/// - Without a point in time: the snapshot covering the most changes, then
///   every change after it up to the newest the vault holds.
/// - With a point in time T: the newest snapshot whose every change was
///   committed at or before T, then changes up to the last one committed at
///   or before T (the replay stops at the first later one; commit times of
///   one node never go backwards).
/// - No snapshot fits but the segments start at change 1: replay everything
///   from an empty database.
/// - Any change missing between the base and the target is an error naming
///   the range: a restore never silently builds less than was asked for.
public struct RestorePlan: Sendable, Equatable {
    /// The base snapshot; `nil` to replay from an empty database.
    public let base: RestoreCatalog.Snapshot?
    /// Segments to replay, in order; the first may start before `replayFrom`
    /// (its earlier changes are skipped).
    public let segments: [RestoreCatalog.Segment]
    /// The first change to apply.
    public let replayFrom: UInt64
    /// The replay stops before the first change committed after this
    /// (Unix ms), if set.
    public let stopAfterCommitTimeMs: UInt64?
    /// The last change the segments hold that the restore must reach when no
    /// point in time is set (the newest in the vault); with a point in time,
    /// the last change that may be reached.
    public let lastSeq: UInt64

    /// The last change in the base (0 for none).
    public var baseSeq: UInt64 { base?.coversSeq ?? 0 }

    /// Plans a restore of `catalog`'s node, to the newest state or to the
    /// state at `pointInTimeMs` (Unix ms).
    ///
    /// - Throws: `.notFound` when the vault has nothing to restore from, or
    ///   nothing as old as `pointInTimeMs`; `.gap` naming the missing changes.
    public static func make(_ catalog: RestoreCatalog, at pointInTimeMs: UInt64? = nil) throws(RestoreError) -> RestorePlan {
        let segments = catalog.segments.sorted { ($0.firstSeq, $0.lastSeq) < ($1.firstSeq, $1.lastSeq) }
        let ordered = catalog.snapshots.sorted { ($0.coversSeq, $0.createdTimeMs, $0.id) < ($1.coversSeq, $1.createdTimeMs, $1.id) }
        let usable = ordered.filter { snapshot in
            guard let pointInTimeMs else { return true }
            return latestCommitBound(of: snapshot, segments: segments) <= pointInTimeMs
        }
        let base = usable.last
        if base == nil {
            guard let first = segments.first, first.firstSeq == 1 else {
                if let pointInTimeMs, !ordered.isEmpty {
                    throw RestoreError(.notFound,
                        "node \(catalog.node): the vault has no base snapshot holding only changes committed at or before \(TimeText.iso(pointInTimeMs)), and its changes do not go back to the first; the earliest restorable point is \(TimeText.iso(latestCommitBound(of: ordered[0], segments: segments)))")
                }
                throw RestoreError(.notFound,
                    "node \(catalog.node): the vault holds no base snapshot" + (segments.isEmpty ? " and no changes" : ", and its oldest change is \(segments[0].firstSeq), not 1") + "; there is nothing to restore from")
            }
        }
        let from = (base?.coversSeq ?? 0) + 1
        var chosen: [RestoreCatalog.Segment] = []
        var expected = from
        for segment in segments where segment.lastSeq >= expected {
            if let pointInTimeMs {
                // Past the point already: nothing further is needed, present or not.
                if chosen.last.map({ $0.lastCommitTimeMs > pointInTimeMs }) == true { break }
                if segment.firstSeq == expected, segment.firstCommitTimeMs > pointInTimeMs { break }
                // Otherwise a missing change may have been committed by the
                // point in time: the check below makes that a gap, never a
                // shorter restore.
            }
            guard segment.firstSeq <= expected else {
                throw RestoreError(.gap,
                    "node \(catalog.node): changes \(expected)–\(segment.firstSeq - 1) are missing from the vault (the base \(base.map { "snapshot \($0.id)" } ?? "(none)") ends at \(from - 1), the next stored segment \(segment.name) starts at \(segment.firstSeq)); refusing to restore less than asked")
            }
            chosen.append(segment)
            expected = segment.lastSeq + 1
        }
        // Without a point in time the vault's newest stored change must be
        // reachable: a lost newest segment leaves no hole between segments.
        let reached = max(expected - 1, base?.coversSeq ?? 0)
        if pointInTimeMs == nil, let stored = catalog.storedSeq, stored > reached {
            throw RestoreError(.gap,
                "node \(catalog.node): changes \(reached + 1)–\(stored) are missing from the vault (it recorded storing up to \(stored), its segments end at \(reached)); refusing to restore less than asked")
        }
        return RestorePlan(base: base, segments: chosen, replayFrom: from, stopAfterCommitTimeMs: pointInTimeMs,
                           lastSeq: reached)
    }

    /// The latest time any change in `snapshot` can have been committed:
    /// its covered change's commit time when known, else the tighter of the
    /// vault's commit of the snapshot and the newest commit in the segment
    /// holding the covered change.
    static func latestCommitBound(of snapshot: RestoreCatalog.Snapshot, segments: [RestoreCatalog.Segment]) -> UInt64 {
        if snapshot.coversSeq == 0 { return 0 }
        if let known = snapshot.coversCommitTimeMs { return known }
        var bound = snapshot.createdTimeMs
        if let holding = segments.first(where: { $0.firstSeq <= snapshot.coversSeq && snapshot.coversSeq <= $0.lastSeq }) {
            bound = min(bound, holding.lastCommitTimeMs)
        }
        return bound
    }
}
