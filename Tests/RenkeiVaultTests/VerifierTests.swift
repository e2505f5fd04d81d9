import Foundation
import Testing
@testable import RenkeiVault

@Suite struct VerifierTests {
    /// Node n1: changes 1–30 in three segments, snapshot s1 covering 10.
    func populated() throws -> (TemporaryVault, VaultStore, [SegmentInfo]) {
        let t = try TemporaryVault()
        let store = try t.open()
        try store.append(node: "n1", records: records(1...10))
        try store.append(node: "n1", records: records(11...20))
        try store.append(node: "n1", records: records(21...30))
        try store.append(node: "n2", records: records(1...3))
        var sent: [String] = []
        try upload(store, node: "n1", id: "s1", coversSeq: 10, files: ["000001.sst": bytes(1, 4000), "CURRENT": bytes(2, 16)], sent: &sent)
        return (t, store, try store.segments(node: "n1"))
    }

    @Test func anIntactVaultVerifies() throws {
        let (t, _, _) = try populated()
        let report = try VaultVerifier(root: t.root).verifyAll()
        #expect(report.isIntact, "\(report)")
        #expect(report.nodes.map(\.node) == ["n1", "n2"])
        let n1 = report.nodes[0]
        #expect(n1.segmentsChecked == 3 && n1.recordsChecked == 30 && n1.lastSeq == 30)
        #expect(n1.snapshotsChecked == 1 && n1.snapshotFilesChecked == 2 && n1.neededFromSeq == 11)
        #expect(thrownCode { _ = try VaultVerifier(root: t.root + "/nope").verifyAll() } == .notFound)
        #expect(thrownCode { _ = try VaultVerifier(root: t.root).verify(node: "n9") } == .notFound)
    }

    @Test func aFlippedByteInASegmentIsNamedWithItsRange() throws {
        let (t, _, segments) = try populated()
        for offset in [12, -3] {  // inside a block, and in the content checksum
            let (t, _, segments) = try populated()
            try flipByte(t.path("nodes/n1/segments/" + segments[1].fileName), at: offset)
            let report = try VaultVerifier(root: t.root).verifyAll()
            #expect(!report.isIntact)
            #expect(report.problems.count == 1, "\(report)")
            let problem = try #require(report.problems.first)
            #expect(problem.file == "nodes/n1/segments/" + segments[1].fileName)
            #expect(problem.seqRange == 11...20)
            #expect(problem.description.contains(segments[1].fileName))
        }
        _ = (t, segments)
    }

    @Test func aFlippedByteInASnapshotFileIsNamed() throws {
        let (t, _, _) = try populated()
        try flipByte(t.path("nodes/n1/snapshots/s1/files/000001.sst"), at: 2000)
        let report = try VaultVerifier(root: t.root).verifyAll()
        #expect(report.problems.map(\.file) == ["nodes/n1/snapshots/s1/files/000001.sst"], "\(report)")
        #expect(report.problems[0].message.contains("SHA-256"))
    }

    @Test func damagedMetadataAndMissingFilesAreReported() throws {
        let (t, _, segments) = try populated()
        // A sidecar that lies about the hash, a missing snapshot file, a
        // stray file.
        let metaPath = t.path("nodes/n1/segments/" + segments[2].fileName + ".meta")
        var meta = try String(contentsOfFile: metaPath, encoding: .utf8)
        meta = meta.replacingOccurrences(of: segments[2].sha256, with: String(repeating: "0", count: 64))
        try meta.write(toFile: metaPath, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: t.path("nodes/n1/snapshots/s1/files/CURRENT"))
        try Data([1]).write(to: URL(fileURLWithPath: t.path("nodes/n1/segments/notes.txt")))
        let report = try VaultVerifier(root: t.root).verify(node: "n1")
        #expect(Set(report.problems.map(\.file)) == [
            "nodes/n1/segments/" + segments[2].fileName,
            "nodes/n1/snapshots/s1/files/CURRENT",
            "nodes/n1/segments/notes.txt",
        ], "\(report.problems)")
    }

    @Test func missingChangesAfterTheOldestSnapshotAreAGap() throws {
        let (t, _, segments) = try populated()
        // The middle segment (11–20) is needed to roll forward from s1.
        try FileManager.default.removeItem(atPath: t.path("nodes/n1/segments/" + segments[1].fileName))
        let report = try VaultVerifier(root: t.root).verify(node: "n1")
        #expect(report.problems.count == 1, "\(report.problems)")
        #expect(report.problems.first?.seqRange == 11...20)
        #expect(report.problems.first?.file == "nodes/n1/segments/" + segments[2].fileName)

        // The last segment gone: the head still says 30.
        let (t2, _, segments2) = try populated()
        try FileManager.default.removeItem(atPath: t2.path("nodes/n1/segments/" + segments2[2].fileName))
        let report2 = try VaultVerifier(root: t2.root).verify(node: "n1")
        #expect(report2.problems.map(\.seqRange) == [21...30])
        #expect(report2.problems.first?.file == "nodes/n1/head.json")

        // Changes before the snapshot are not needed: their loss is no gap.
        let (t3, _, segments3) = try populated()
        try FileManager.default.removeItem(atPath: t3.path("nodes/n1/segments/" + segments3[0].fileName))
        #expect(try VaultVerifier(root: t3.root).verify(node: "n1").isIntact)
        // …but without a snapshot, every change from 1 is.
        try FileManager.default.removeItem(atPath: t3.path("nodes/n1/snapshots/s1"))
        #expect(try VaultVerifier(root: t3.root).verify(node: "n1").problems.map(\.seqRange) == [1...10])
    }
}
