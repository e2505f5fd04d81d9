import Foundation
import Testing
@testable import RenkeiVault

let day = VaultRetention.dayMs
let now: UInt64 = 100 * day

func segment(_ first: UInt64, _ last: UInt64, newestDaysAgo: UInt64) -> SegmentInfo {
    SegmentInfo(fileName: SegmentName.fileName(first: first, last: last), firstSeq: first, lastSeq: last,
                firstCommitTimeMs: 0, lastCommitTimeMs: now - newestDaysAgo * day, maxCommitTimeMs: now - newestDaysAgo * day,
                recordCount: Int(last - first + 1), byteSize: 1, sha256: String(repeating: "0", count: 64))
}

func snapshot(_ id: String, covers: UInt64) -> SnapshotManifest {
    SnapshotManifest(node: "n", id: id, coversSeq: covers, coversCommitTimeMs: 0, createdTimeMs: covers, files: [])
}

struct RetentionCase: Sendable, CustomStringConvertible {
    let description: String
    let days: Int
    let keep: Int
    let snapshots: [SnapshotManifest]
    let segments: [SegmentInfo]
    let deleteSnapshots: [String]
    /// First seqs of the segments deleted.
    let deleteSegments: [UInt64]
}

let segs = [segment(1, 10, newestDaysAgo: 40), segment(11, 20, newestDaysAgo: 35), segment(21, 30, newestDaysAgo: 20), segment(31, 40, newestDaysAgo: 1)]

let retentionCases: [RetentionCase] = [
    RetentionCase(description: "no snapshot: nothing is deleted, however old", days: 7, keep: 2,
                  snapshots: [], segments: segs, deleteSnapshots: [], deleteSegments: []),
    RetentionCase(description: "old and covered segments go", days: 7, keep: 2,
                  snapshots: [snapshot("a", covers: 20), snapshot("b", covers: 35)], segments: segs,
                  deleteSnapshots: [], deleteSegments: [1, 11]),
    RetentionCase(description: "old but needed to roll forward from the oldest kept snapshot: kept", days: 7, keep: 2,
                  snapshots: [snapshot("a", covers: 15), snapshot("b", covers: 35)], segments: segs,
                  deleteSnapshots: [], deleteSegments: [1]),
    RetentionCase(description: "covered but younger than N days: kept", days: 30, keep: 1,
                  snapshots: [snapshot("a", covers: 40)], segments: segs,
                  deleteSnapshots: [], deleteSegments: [1, 11]),
    RetentionCase(description: "keep M newest snapshots; the oldest kept one bounds segment deletion", days: 7, keep: 1,
                  snapshots: [snapshot("c", covers: 30), snapshot("a", covers: 5), snapshot("b", covers: 20)], segments: segs,
                  deleteSnapshots: ["a", "b"], deleteSegments: [1, 11, 21]),
    RetentionCase(description: "a snapshot ending mid-segment keeps that segment", days: 0, keep: 1,
                  snapshots: [snapshot("a", covers: 25)], segments: segs,
                  deleteSnapshots: [], deleteSegments: [1, 11]),
    RetentionCase(description: "keep 0 days: every covered change older than now goes", days: 0, keep: 1,
                  snapshots: [snapshot("a", covers: 40)], segments: [segment(1, 10, newestDaysAgo: 0)] + Array(segs.dropFirst()),
                  deleteSnapshots: [], deleteSegments: [11, 21, 31]),
    RetentionCase(description: "snapshot covering 0 protects every change", days: 7, keep: 3,
                  snapshots: [snapshot("a", covers: 0)], segments: segs,
                  deleteSnapshots: [], deleteSegments: []),
    RetentionCase(description: "fewer snapshots than M: none deleted", days: 7, keep: 5,
                  snapshots: [snapshot("a", covers: 10), snapshot("b", covers: 20)], segments: segs,
                  deleteSnapshots: [], deleteSegments: [1]),
]

@Suite struct RetentionTests {
    @Test(arguments: retentionCases)
    func decisions(_ c: RetentionCase) throws {
        let plan = try VaultRetention(keepChangeDays: c.days, keepSnapshots: c.keep).plan(snapshots: c.snapshots, segments: c.segments, nowMs: now)
        #expect(plan.deleteSnapshots.sorted() == c.deleteSnapshots)
        #expect(plan.deleteSegments == c.deleteSegments.map { first in c.segments.first { $0.firstSeq == first }!.fileName })
    }

    @Test func invalidPoliciesAreRefused() {
        #expect(thrownCode { _ = try VaultRetention(keepChangeDays: -1, keepSnapshots: 1) } == .limit)
        #expect(thrownCode { _ = try VaultRetention(keepChangeDays: 7, keepSnapshots: 0) } == .limit)
    }

    @Test func applyDeletesOnDiskAndKeepsTheLastSequence() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        let old: UInt64 = 1_000 * day
        let nowMs = old + 30 * day
        try store.append(node: "n1", records: records(1...10, timeMs: { _ in old }))
        try store.append(node: "n1", records: records(11...20, timeMs: { _ in old + day }))
        var sent: [String] = []
        try upload(store, node: "n1", id: "s1", coversSeq: 5, files: ["a": bytes(1, 100), "b": bytes(2, 100)], sent: &sent)
        try upload(store, node: "n1", id: "s2", coversSeq: 20, files: ["a": bytes(1, 100), "c": bytes(3, 100)], sent: &sent)
        let plan = try store.applyRetention(node: "n1", VaultRetention(keepChangeDays: 7, keepSnapshots: 1), nowMs: nowMs)
        #expect(plan.deleteSnapshots == ["s1"])
        #expect(plan.deleteSegments.count == 2)
        #expect(try store.segments(node: "n1").isEmpty)
        #expect(try t.files("nodes/n1/snapshots") == ["s2"])
        #expect(try t.files("nodes/n1/segments").isEmpty)
        #expect(try store.lastSequence(node: "n1") == 20, "retention never lowers the last sequence")
        #expect(try readAll(store, node: "n1", after: 20).isEmpty)
        #expect(thrownCode { _ = try readAll(store, node: "n1", after: 10) } == .gap)
        #expect(thrownCode { try store.append(node: "n1", records: records(1...20)) } == nil, "still duplicates")
        #expect(try store.append(node: "n1", records: records(21...22)) == 22)
        let report = try VaultVerifier(root: t.root).verify(node: "n1")
        #expect(report.isIntact, "\(report.problems)")
        #expect(try store.applyRetention(node: "n1", VaultRetention(keepChangeDays: 7, keepSnapshots: 1), nowMs: nowMs).isEmpty)
    }
}
