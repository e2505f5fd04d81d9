import Foundation
import Testing
@testable import RenkeiVault

/// A made-up checkpoint: file name → content.
func checkpoint(_ files: [String: [UInt8]]) -> [SnapshotFileSpec] {
    files.keys.sorted().map { SnapshotFileSpec(name: $0, size: UInt64(files[$0]!.count), sha256: sha256Hex(files[$0]!)) }
}

/// Uploads the named files in chunks of `chunk` bytes; returns the manifest.
@discardableResult
func upload(_ store: VaultStore, node: String, id: String, coversSeq: UInt64, coversTimeMs: UInt64 = 0,
            files: [String: [UInt8]], chunk: Int = 1000, sent: inout [String]) throws -> SnapshotManifest {
    sent = try store.beginSnapshot(node: node, id: id, coversSeq: coversSeq, coversCommitTimeMs: coversTimeMs, files: checkpoint(files))
    for name in sent {
        let bytes = files[name]!
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            try store.writeSnapshotFile(node: node, id: id, name: name, offset: UInt64(offset), bytes: Array(bytes[offset..<end]))
            offset = end
        }
    }
    return try store.commitSnapshot(node: node, id: id)
}

func bytes(_ seed: Int, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seed &* 131) }
}

func inode(_ path: String) throws -> UInt64 {
    try (FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
}

@Suite struct SnapshotTests {
    @Test func incrementalSnapshotSendsOnlyNewFiles() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        var sent: [String] = []
        let first: [String: [UInt8]] = [
            "000010.sst": bytes(1, 5000), "000011.sst": bytes(2, 3000), "CURRENT": Array("MANIFEST-000005\n".utf8),
            "MANIFEST-000005": bytes(3, 700), "keys/node.keys": bytes(4, 300), "empty.log": [],
        ]
        let m1 = try upload(store, node: "n1", id: "s1", coversSeq: 10, files: first, sent: &sent)
        #expect(Set(sent) == Set(first.keys).subtracting(["empty.log"]), "first snapshot: everything non-empty")
        #expect(m1.files.count == 6)

        var second = first
        second["000011.sst"] = nil
        second["000012.sst"] = bytes(5, 4000)
        second["CURRENT"] = Array("MANIFEST-000009\n".utf8)
        second["MANIFEST-000005"] = nil
        second["MANIFEST-000009"] = bytes(6, 800)
        let m2 = try upload(store, node: "n1", id: "s2", coversSeq: 20, files: second, sent: &sent)
        #expect(sent.sorted() == ["000012.sst", "CURRENT", "MANIFEST-000009"])
        #expect(try inode(t.path("nodes/n1/snapshots/s2/files/000010.sst")) == inode(t.path("nodes/n1/snapshots/s1/files/000010.sst")),
                "an unchanged file is hard-linked")
        #expect(try inode(t.path("nodes/n1/snapshots/s2/files/keys/node.keys")) == inode(t.path("nodes/n1/snapshots/s1/files/keys/node.keys")))

        #expect(try store.snapshots(node: "n1").map(\.id) == ["s1", "s2"])
        #expect(try store.latestSnapshot(node: "n1") == m2)
        for (name, content) in second {
            var read: [UInt8] = []
            while true {
                let chunk = try store.readSnapshotFile(node: "n1", id: "s2", name: name, offset: UInt64(read.count), maxBytes: 777)
                if chunk.isEmpty { break }
                read += chunk
            }
            #expect(read == content, "\(name)")
        }
        #expect(thrownCode { _ = try store.readSnapshotFile(node: "n1", id: "s2", name: "000011.sst", offset: 0, maxBytes: 10) } == .notFound)
        #expect(thrownCode { _ = try store.readSnapshotFile(node: "n1", id: "nope", name: "CURRENT", offset: 0, maxBytes: 10) } == .notFound)
        #expect(try VaultVerifier(root: t.root).verify(node: "n1").isIntact)
    }

    @Test func commitChecksEveryHashAndChunksComeInOrder() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        let content = bytes(9, 3000)
        let specs = [SnapshotFileSpec(name: "a.sst", size: 3000, sha256: sha256Hex(content))]
        #expect(try store.beginSnapshot(node: "n1", id: "s1", coversSeq: 0, coversCommitTimeMs: 0, files: specs) == ["a.sst"])
        try store.writeSnapshotFile(node: "n1", id: "s1", name: "a.sst", offset: 0, bytes: Array(content[0..<1000]))
        let wrongOffset = thrownError { try store.writeSnapshotFile(node: "n1", id: "s1", name: "a.sst", offset: 2000, bytes: [1]) }
        #expect(wrongOffset?.code == .io)
        #expect(wrongOffset?.message.contains("1000") == true, "names where to resume")
        #expect(thrownCode { try store.writeSnapshotFile(node: "n1", id: "s1", name: "b.sst", offset: 0, bytes: [1]) } == .notFound)
        #expect(thrownCode { try store.writeSnapshotFile(node: "n1", id: "s1", name: "a.sst", offset: 1000, bytes: bytes(0, 2001)) } == .limit)
        #expect(thrownCode { _ = try store.commitSnapshot(node: "n1", id: "s1") } == .io, "incomplete")
        var tampered = Array(content[1000...])
        tampered[5] ^= 1
        try store.writeSnapshotFile(node: "n1", id: "s1", name: "a.sst", offset: 1000, bytes: tampered)
        let error = thrownError { _ = try store.commitSnapshot(node: "n1", id: "s1") }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("a.sst") == true)
        #expect(try store.snapshots(node: "n1").isEmpty, "nothing committed")
        #expect(try t.files("nodes/n1/snapshots").isEmpty, "the upload was discarded")

        var sent: [String] = []
        try upload(store, node: "n1", id: "s1", coversSeq: 0, files: ["a.sst": content], sent: &sent)
        #expect(try store.beginSnapshot(node: "n1", id: "s1", coversSeq: 0, coversCommitTimeMs: 0, files: specs).isEmpty, "retry of a committed snapshot")
        #expect(try store.commitSnapshot(node: "n1", id: "s1").id == "s1")
        #expect(thrownCode { _ = try store.beginSnapshot(node: "n1", id: "s1", coversSeq: 5, coversCommitTimeMs: 0, files: specs) } == .io)
    }

    @Test func aDamagedEarlierFileIsSentAgainNotLinked() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        var sent: [String] = []
        let files = ["a.sst": bytes(1, 2000), "b.sst": bytes(2, 2000)]
        try upload(store, node: "n1", id: "s1", coversSeq: 1, files: files, sent: &sent)
        try flipByte(t.path("nodes/n1/snapshots/s1/files/a.sst"), at: 10)
        try upload(store, node: "n1", id: "s2", coversSeq: 2, files: files, sent: &sent)
        #expect(sent == ["a.sst"])
        #expect(try VaultVerifier(root: t.root).verify(node: "n1").problems.map(\.file) == ["nodes/n1/snapshots/s1/files/a.sst"])
    }

    @Test func badSnapshotRequestsAreRefused() throws {
        let t = try TemporaryVault()
        let store = try t.open(limits: VaultLimits(maxSnapshotFiles: 2, maxSnapshotFileBytes: 100, maxChunkBytes: 10))
        let ok = SnapshotFileSpec(name: "a", size: 10, sha256: sha256Hex(bytes(0, 10)))
        let cases: [([SnapshotFileSpec], String, VaultError.Code)] = [
            ([ok], "../x", .invalidName),
            ([ok], ".incoming-x", .invalidName),
            ([SnapshotFileSpec(name: "../etc/passwd", size: 1, sha256: ok.sha256)], "s", .invalidName),
            ([SnapshotFileSpec(name: "/abs", size: 1, sha256: ok.sha256)], "s", .invalidName),
            ([SnapshotFileSpec(name: "a//b", size: 1, sha256: ok.sha256)], "s", .invalidName),
            ([SnapshotFileSpec(name: "a", size: 1, sha256: "XYZ")], "s", .invalidName),
            ([ok, ok], "s", .invalidName),
            ([ok, SnapshotFileSpec(name: "a/b", size: 1, sha256: ok.sha256)], "s", .invalidName),
            ([SnapshotFileSpec(name: "big", size: 101, sha256: ok.sha256)], "s", .limit),
            ([ok, SnapshotFileSpec(name: "b", size: 1, sha256: ok.sha256), SnapshotFileSpec(name: "c", size: 1, sha256: ok.sha256)], "s", .limit),
            ([], "s", .limit),
        ]
        for (files, id, code) in cases {
            #expect(thrownCode { _ = try store.beginSnapshot(node: "n1", id: id, coversSeq: 0, coversCommitTimeMs: 0, files: files) } == code, "\(files.map(\.name)) \(id)")
        }
        _ = try store.beginSnapshot(node: "n1", id: "s", coversSeq: 0, coversCommitTimeMs: 0, files: [ok])
        #expect(thrownCode { try store.writeSnapshotFile(node: "n1", id: "s", name: "a", offset: 0, bytes: bytes(0, 11)) } == .limit)
    }

    @Test func snapshotForAPointInTime() throws {
        let t = try TemporaryVault()
        let store = try t.open()
        var sent: [String] = []
        try upload(store, node: "n1", id: "s0", coversSeq: 0, coversTimeMs: 0, files: ["x": bytes(0, 10)], sent: &sent)
        try upload(store, node: "n1", id: "s100", coversSeq: 100, coversTimeMs: 50_000, files: ["x": bytes(1, 10)], sent: &sent)
        try upload(store, node: "n1", id: "s200", coversSeq: 200, coversTimeMs: 90_000, files: ["x": bytes(2, 10)], sent: &sent)
        #expect(try store.snapshot(node: "n1", before: 10)?.id == "s0")
        #expect(try store.snapshot(node: "n1", before: 49_999)?.id == "s0")
        #expect(try store.snapshot(node: "n1", before: 50_000)?.id == "s100")
        #expect(try store.snapshot(node: "n1", before: 89_999)?.id == "s100")
        #expect(try store.snapshot(node: "n1", before: 1_000_000)?.id == "s200")
        #expect(try store.snapshot(node: "n2", before: 1_000_000) == nil)
    }

    @Test func anUnfinishedUploadIsRemovedOnRestart() throws {
        let t = try TemporaryVault()
        do {
            let store = try t.open()
            _ = try store.beginSnapshot(node: "n1", id: "s1", coversSeq: 0, coversCommitTimeMs: 0,
                                        files: [SnapshotFileSpec(name: "a", size: 10, sha256: sha256Hex(bytes(0, 10)))])
            try store.writeSnapshotFile(node: "n1", id: "s1", name: "a", offset: 0, bytes: bytes(0, 5))
            #expect(try t.files("nodes/n1/snapshots") == [".incoming-s1"])
        }
        let store = try t.open()
        #expect(try store.snapshots(node: "n1").isEmpty)
        #expect(try t.files("nodes/n1/snapshots").isEmpty)
        #expect(thrownCode { _ = try store.commitSnapshot(node: "n1", id: "s1") } == .notFound)
    }
}
