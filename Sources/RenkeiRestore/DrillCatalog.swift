extension RestoreCatalog {
    /// The catalog as a restore through change `seq` sees it: no base
    /// snapshot that covers more than `seq` (a restore cannot go back from
    /// one), no segment that starts after it, and the vault's stored head
    /// capped at `seq` (changes after it are not needed). The segment
    /// holding `seq` stays whole; the replay stops inside it.
    public func limited(throughSeq seq: UInt64) -> RestoreCatalog {
        RestoreCatalog(node: node, snapshots: snapshots.filter { $0.coversSeq <= seq },
                       segments: segments.filter { $0.firstSeq <= seq },
                       storedSeq: storedSeq.map { min($0, seq) })
    }

    /// The newest change the vault holds for the node, with its commit time
    /// (Unix ms): the last change of its newest segment, or of its newest
    /// snapshot if that covers more (with the snapshot's covered commit
    /// time, or, when the source does not carry it, the vault's commit of
    /// the snapshot, an upper bound). `nil` when the vault holds nothing.
    public var newestChange: (seq: UInt64, commitTimeMs: UInt64)? {
        let segment = segments.max { $0.lastSeq < $1.lastSeq }
        let snapshot = snapshots.max { $0.coversSeq < $1.coversSeq }
        if let snapshot, snapshot.coversSeq > (segment?.lastSeq ?? 0) {
            return (snapshot.coversSeq, snapshot.coversCommitTimeMs ?? snapshot.createdTimeMs)
        }
        if let segment { return (segment.lastSeq, segment.lastCommitTimeMs) }
        return nil
    }
}
