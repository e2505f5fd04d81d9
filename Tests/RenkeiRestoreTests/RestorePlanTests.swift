import Testing
import RenkeiVault
@testable import RenkeiRestore

private func snap(_ id: String, covers: UInt64, at time: UInt64?, created: UInt64) -> RestoreCatalog.Snapshot {
    .init(id: id, coversSeq: covers, coversCommitTimeMs: time, createdTimeMs: created,
          files: [SnapshotFileSpec(name: "db/CURRENT", size: 16, sha256: String(repeating: "0", count: 64))])
}

private func seg(_ first: UInt64, _ last: UInt64, _ t0: UInt64, _ t1: UInt64) -> RestoreCatalog.Segment {
    .init(name: "\(first)-\(last)", firstSeq: first, lastSeq: last, firstCommitTimeMs: t0, lastCommitTimeMs: t1, size: 1, sha256: "")
}

/// Commit time of change n is 1000 + 10 n.
private let catalog = RestoreCatalog(
    node: "n",
    snapshots: [snap("a", covers: 10, at: 1100, created: 1105), snap("b", covers: 30, at: 1300, created: 1305)],
    segments: [seg(1, 10, 1010, 1100), seg(11, 20, 1110, 1200), seg(21, 30, 1210, 1300), seg(31, 40, 1310, 1400)])

@Suite struct RestorePlanTests {
    @Test func latestTakesTheNewestSnapshotAndEverythingAfter() throws {
        let plan = try RestorePlan.make(catalog)
        #expect(plan.base?.id == "b")
        #expect(plan.segments.map(\.firstSeq) == [31])
        #expect(plan.replayFrom == 31 && plan.lastSeq == 40)
    }

    @Test func aPointInTimeTakesTheNewestSnapshotNotPastIt() throws {
        let plan = try RestorePlan.make(catalog, at: 1255)
        #expect(plan.base?.id == "a")
        #expect(plan.segments.map(\.firstSeq) == [11, 21])
        #expect(plan.stopAfterCommitTimeMs == 1255)
        // Exactly the covered change's commit time is enough.
        #expect(try RestorePlan.make(catalog, at: 1300).base?.id == "b")
        // Before every snapshot: replay from change 1 (the segments reach back to it).
        let early = try RestorePlan.make(catalog, at: 1050)
        #expect(early.base == nil)
        #expect(early.segments.map(\.firstSeq) == [1])
    }

    @Test func withoutTheCoveredCommitTimeTheBoundIsConservative() throws {
        // The gRPC catalog lacks it: the segment holding change 30 ends at 1300.
        let remote = RestoreCatalog(
            node: "n", snapshots: [snap("a", covers: 10, at: nil, created: 1105), snap("b", covers: 30, at: nil, created: 5000)],
            segments: Array(catalog.segments.dropFirst()))
        #expect(try RestorePlan.make(remote, at: 1299).base?.id == "a")
        #expect(try RestorePlan.make(remote, at: 1300).base?.id == "b")
        #expect(throws: RestoreError.self) { try RestorePlan.make(remote, at: 1099) }
    }

    @Test func aGapFailsNamingTheMissingChanges() throws {
        let gappy = RestoreCatalog(node: "n", snapshots: catalog.snapshots, segments: [catalog.segments[0], catalog.segments[1], catalog.segments[3]])
        #expect(throws: Never.self) { try RestorePlan.make(gappy) }  // the newest snapshot bridges it
        // Restoring to 1250 needs changes committed by then that may be among the missing ones.
        for at: UInt64 in [1250, 1205] {
            do {
                _ = try RestorePlan.make(gappy, at: at)
                Issue.record("expected a gap")
            } catch {
                #expect(error.code == .gap)
                #expect(error.message.contains("changes 21–30 are missing from the vault"))
            }
        }
        // Changes up to 1150 are all there: the gap lies past the point.
        #expect(try RestorePlan.make(gappy, at: 1150).segments.map(\.firstSeq) == [11])
        let early = RestoreCatalog(node: "n", snapshots: [], segments: [catalog.segments[1]])
        #expect(throws: RestoreError.self) { try RestorePlan.make(early) }
    }

    @Test func timesParse() {
        #expect(TimeText.parse("2026-11-28T04:10:00Z") == 1_795_839_000_000)
        #expect(TimeText.parse("2026-11-28T13:10:00+09:00") == 1_795_839_000_000)
        #expect(TimeText.parse("2026-11-28T04:10:00.250Z") == 1_795_839_000_250)
        #expect(TimeText.parse("1795839000000") == 1_795_839_000_000)
        #expect(TimeText.parse("yesterday") == nil)
        #expect(TimeText.parse("2026-11-28") == nil)
    }
}
