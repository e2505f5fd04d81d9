import Foundation
import Testing
@testable import RenkeiVault

@Suite struct VaultStoreTests {
    @Test func appendAndReadBackAcrossSegmentsAndReopen() throws {
        let t = try TemporaryVault()
        do {
            let store = try t.open()
            #expect(try store.lastSequence(node: "n1") == 0)
            #expect(try readAll(store, node: "n1").isEmpty)
            #expect(try store.append(node: "n1", records: records(1...10)) == 10)
            #expect(try store.append(node: "n1", records: records(11...25)) == 25)
            #expect(try store.append(node: "n2", records: records(1...3)) == 3)
            #expect(try store.nodes() == ["n1", "n2"])
        }
        let store = try t.open()
        #expect(try store.lastSequence(node: "n1") == 25)
        #expect(try readAll(store, node: "n1") == records(1...25))
        #expect(try readAll(store, node: "n1", after: 12) == records(13...25))
        #expect(try readAll(store, node: "n1", after: 25).isEmpty)
        let segments = try store.segments(node: "n1")
        #expect(segments.map(\.fileName) == [
            "00000000000000000001-00000000000000000010.seg.lz4",
            "00000000000000000011-00000000000000000025.seg.lz4",
        ])
        #expect(segments[1].recordCount == 15)
        #expect(segments[1].firstCommitTimeMs == record(11).commitTimeMs)
        #expect(segments[1].lastCommitTimeMs == record(25).commitTimeMs)
        let file = try Data(contentsOf: URL(fileURLWithPath: t.path("nodes/n1/segments/" + segments[1].fileName)))
        #expect(segments[1].byteSize == UInt64(file.count))
        #expect(segments[1].sha256 == sha256Hex([UInt8](file)))
        var cursor = try store.records(node: "n1", after: 0)
        #expect(try cursor.next(max: 7) == records(1...7))
        #expect(cursor.lastReturnedSeq == 7)
    }

    @Test func aSecondStoreOnTheSameRootIsRefused() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        #expect(thrownCode { _ = try t.open() } == .io)
        _ = store
    }

    @Test func gapIsRefusedNamingBothNumbers() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        let first = thrownError { try store.append(node: "n1", records: records(2...5)) }
        #expect(first?.code == .gap)
        try store.append(node: "n1", records: records(1...5))
        let error = thrownError { try store.append(node: "n1", records: records(7...9)) }
        #expect(error?.code == .gap)
        #expect(error?.message.contains("5") == true && error?.message.contains("7") == true, "\(String(describing: error))")
        let inside = thrownError { try store.append(node: "n1", records: [record(6), record(8)]) }
        #expect(inside?.code == .gap)
        #expect(try store.lastSequence(node: "n1") == 5)
        #expect(try store.segments(node: "n1").count == 1, "a refused batch writes nothing")
    }

    @Test func duplicateBatchesAreIdempotent() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        #expect(try store.append(node: "n1", records: records(1...10)) == 10)
        #expect(try store.append(node: "n1", records: records(1...10)) == 10, "a resend after a lost acknowledgement")
        #expect(try store.append(node: "n1", records: records(4...8)) == 10)
        #expect(try store.append(node: "n1", records: []) == 10)
        #expect(try store.append(node: "n1", records: records(6...14)) == 14, "overlapping: only 11–14 are new")
        #expect(try store.segments(node: "n1").map(\.seqRange) == [1...10, 11...14])
        #expect(try readAll(store, node: "n1") == records(1...14))
    }

    @Test func tornTemporaryFilesAreIgnoredAndCleanedUp() throws {
        let t = try TemporaryVault()
        do {
            let store = try t.open()
            try store.append(node: "n1", records: records(1...10))
        }
        // A vault killed mid-segment: a temporary segment (torn), a
        // temporary sidecar, and a sidecar whose segment never got renamed.
        let dir = t.path("nodes/n1/segments/")
        let torn = ".tmp-00000000000000000011-00000000000000000020.seg.lz4-123-abc"
        try Data([0x04, 0x22, 0x4D, 0x18, 1, 2, 3]).write(to: URL(fileURLWithPath: dir + torn))
        try Data("{".utf8).write(to: URL(fileURLWithPath: dir + ".tmp-x.seg.lz4.meta-1-2"))
        let orphan = "00000000000000000011-00000000000000000020.seg.lz4.meta"
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + orphan))
        try Data("{".utf8).write(to: URL(fileURLWithPath: t.path("nodes/n1/.tmp-head.json-1-2")))
        let report = try VaultVerifier(root: t.root).verify(node: "n1")
        #expect(report.isIntact, "work in progress is not data: \(report.problems)")

        let store = try t.open()
        #expect(try store.lastSequence(node: "n1") == 10)
        #expect(try t.files("nodes/n1/segments") == [
            "00000000000000000001-00000000000000000010.seg.lz4",
            "00000000000000000001-00000000000000000010.seg.lz4.meta",
        ])
        #expect(!FileManager.default.fileExists(atPath: t.path("nodes/n1/.tmp-head.json-1-2")))
        #expect(try store.append(node: "n1", records: records(11...20)) == 20)
        #expect(try readAll(store, node: "n1") == records(1...20))
    }

    @Test func headBehindTheNewestSegmentIsCaughtUp() throws {
        let t = try TemporaryVault()
        do {
            let store = try t.open()
            try store.append(node: "n1", records: records(1...5))
            try store.append(node: "n1", records: records(6...9))
        }
        // A crash after the segment's rename, before the head's.
        try Data(#"{"lastCommitTimeMs":1,"lastSeq":5}"#.utf8).write(to: URL(fileURLWithPath: t.path("nodes/n1/head.json")))
        let store = try t.open()
        #expect(try store.lastSequence(node: "n1") == 9)
        #expect(try store.usage(node: "n1").lastCommitTimeMs == record(9).commitTimeMs)
    }

    @Test func pointInTimeStopsAtTheFirstLaterChange() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        // Times 1000, 2000, … except change 7, stamped after a clock step back.
        let input = (1...12).map { seq -> VaultRecord in
            record(seq, timeMs: seq == 7 ? 5_500 : seq * 1000)
        }
        try store.append(node: "n1", records: Array(input[0..<5]))
        try store.append(node: "n1", records: Array(input[5..<12]))
        #expect(try readAll(store, node: "n1", upTo: 3_000).map(\.seq) == [1, 2, 3])
        #expect(try readAll(store, node: "n1", upTo: 3_999).map(\.seq) == [1, 2, 3])
        #expect(try readAll(store, node: "n1", upTo: 5_000).map(\.seq) == [1, 2, 3, 4, 5])
        #expect(try readAll(store, node: "n1", upTo: 6_500).map(\.seq) == [1, 2, 3, 4, 5, 6, 7])
        #expect(try readAll(store, node: "n1", after: 4, upTo: 8_000).map(\.seq) == [5, 6, 7, 8])
        #expect(try readAll(store, node: "n1", upTo: 999).isEmpty)
        #expect(try readAll(store, node: "n1", upTo: 1_000_000).count == 12)
    }

    @Test func readingPastDeletedChangesIsAGap() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        try store.append(node: "n1", records: records(1...5))
        try store.append(node: "n1", records: records(6...9))
        try FileManager.default.removeItem(atPath: t.path("nodes/n1/segments/00000000000000000001-00000000000000000005.seg.lz4"))
        #expect(thrownCode { _ = try readAll(store, node: "n1") } == .gap)
        #expect(try readAll(store, node: "n1", after: 5) == records(6...9))
    }

    @Test func aDamagedSegmentFailsTheReadNamingIt() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        try store.append(node: "n1", records: records(1...5))
        let name = try #require(try store.segments(node: "n1").first).fileName
        try flipByte(t.path("nodes/n1/segments/" + name), at: 30)
        let error = thrownError { _ = try readAll(store, node: "n1") }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains(name) == true)
    }

    @Test(arguments: [
        ("n1", true), ("tokyo-shinjuku_2", true), ("Node.A", true), (String(repeating: "a", count: 128), true),
        ("", false), (".", false), ("..", false), ("../n2", false), ("n1/../n2", false), ("/etc", false),
        (".hidden", false), (".tmp-x", false), ("-dash", false), ("_u", false), ("a b", false), ("a\u{0}b", false),
        ("日本", false), ("a/b", false), (String(repeating: "a", count: 129), false),
    ])
    func nodeNames(name: String, valid: Bool) throws {
        let t = try TemporaryVault()
        let store = try t.open()
        let code = thrownCode { try store.append(node: name, records: records(1...1)) }
        if valid {
            #expect(code == nil)
            #expect(try store.lastSequence(node: name) == 1)
        } else {
            #expect(code == .invalidName)
            #expect(thrownCode { _ = try store.lastSequence(node: name) } == .invalidName)
            #expect(thrownCode { _ = try store.records(node: name, after: 0) } == .invalidName)
            #expect(thrownCode { _ = try VaultVerifier(root: t.root).verify(node: name) } == .invalidName)
            #expect(try store.nodes().isEmpty, "nothing was created")
        }
    }

    @Test func limitsAreEnforced() throws {
        let t = try TemporaryVault()
        let store = try t.open(limits: VaultLimits(maxRecordsPerSegment: 4, maxPayloadBytes: 64))
        #expect(thrownCode { try store.append(node: "n1", records: records(1...5)) } == .limit)
        #expect(thrownCode { try store.append(node: "n1", records: [record(1, size: 65)]) } == .limit)
        #expect(try store.lastSequence(node: "n1") == 0)
    }

    @Test func usageCountsBytesSegmentsAndSnapshotAge() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        try store.append(node: "n1", records: records(1...5))
        try store.append(node: "n1", records: records(6...8))
        let before = try store.usage(node: "n1", nowMs: 0)
        #expect(before.segmentCount == 2 && before.lastSeq == 8 && before.snapshotCount == 0)
        #expect(before.lastCommitTimeMs == record(8).commitTimeMs)
        #expect(before.latestSnapshotAgeMs == nil)
        #expect(before.bytes > 0)
        let file = [UInt8](repeating: 7, count: 1000)
        let spec = SnapshotFileSpec(name: "CURRENT", size: 1000, sha256: sha256Hex(file))
        _ = try store.beginSnapshot(node: "n1", id: "s1", coversSeq: 8, coversCommitTimeMs: 1, files: [spec])
        try store.writeSnapshotFile(node: "n1", id: "s1", name: "CURRENT", offset: 0, bytes: file)
        let manifest = try store.commitSnapshot(node: "n1", id: "s1")
        let after = try store.usage(node: "n1", nowMs: manifest.createdTimeMs + 5000)
        #expect(after.latestSnapshotAgeMs == 5000)
        #expect(after.latestSnapshotID == "s1")
        #expect(after.bytes >= before.bytes + 1000)
        #expect(try store.usage(node: "unknown").lastSeq == 0)
    }
}
