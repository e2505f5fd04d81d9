import Foundation
import Testing
@testable import RenkeiVault

/// A node that had to drop its backlog sends a fresh snapshot covering more
/// than the vault holds and continues from coversSeq + 1.
@Suite struct SnapshotAdvanceTests {
    @Test func aSnapshotBeyondTheLastChangeMovesTheNodeOnAcrossRestarts() throws {
        let vault = try TemporaryVault()
        var sent: [String] = []
        do {
            let store = try vault.open()
            try store.append(node: "n", records: records(1...3))
            try upload(store, node: "n", id: "s1", coversSeq: 10, coversTimeMs: 1_700_000_010_000,
                       files: ["db/1.sst": bytes(1, 500)], sent: &sent)
            #expect(try store.lastSequence(node: "n") == 10)
            // Changes the snapshot holds count as stored: a resend of them is skipped.
            #expect(try store.append(node: "n", records: records(4...5)) == 10)
            #expect(thrownCode { try store.append(node: "n", records: records(12...12)) } == .gap)
            #expect(try store.append(node: "n", records: records(11...12)) == 12)
            // Rolling forward from the snapshot works; from before it, the gap is named.
            #expect(try readAll(store, node: "n", after: 10).map(\.seq) == [11, 12])
            #expect(thrownCode { _ = try readAll(store, node: "n", after: 0) } == .gap)
        }
        // The head may lag (it is rewritten best-effort); loading takes the
        // newest manifest into account.
        try FileManager.default.removeItem(atPath: vault.path("nodes/n/head.json"))
        let store = try vault.open()
        #expect(try store.lastSequence(node: "n") == 12)
        let report = try VaultVerifier(root: vault.root).verify(node: "n")
        #expect(report.isIntact, "\(report.problems)")
        #expect(report.lastSeq == 12)
    }

    @Test func withoutACoveringSnapshotAMissingRangeIsStillReported() throws {
        let vault = try TemporaryVault()
        var sent: [String] = []
        let store = try vault.open()
        try store.append(node: "n", records: records(1...3))
        try upload(store, node: "n", id: "s1", coversSeq: 2, files: ["db/1.sst": bytes(1, 10)], sent: &sent)
        try store.append(node: "n", records: records(4...6))
        try store.append(node: "n", records: records(7...9))
        // Remove the middle segment behind the store's back.
        let middle = try store.segments(node: "n")[1].fileName
        try FileManager.default.removeItem(atPath: vault.path("nodes/n/segments/" + middle))
        try FileManager.default.removeItem(atPath: vault.path("nodes/n/segments/" + middle + ".meta"))
        let report = try VaultVerifier(root: vault.root).verify(node: "n")
        #expect(report.problems.contains { $0.seqRange == 4...6 }, "\(report.problems)")
    }

    @Test func segmentFilesAreReadByteForByteAndOnlyByTheirNames() throws {
        let vault = try TemporaryVault()
        let store = try vault.open()
        try store.append(node: "n", records: records(1...20))
        let info = try store.segments(node: "n")[0]
        var bytes: [UInt8] = []
        while true {
            let chunk = try store.readSegmentFile(node: "n", name: info.fileName, offset: UInt64(bytes.count), maxBytes: 100)
            if chunk.isEmpty { break }
            #expect(chunk.count <= 100)
            bytes += chunk
        }
        #expect(UInt64(bytes.count) == info.byteSize)
        #expect(sha256Hex(bytes) == info.sha256)
        for bad in ["../../vault.lock", info.fileName + ".meta", "head.json"] {
            #expect(thrownCode { _ = try store.readSegmentFile(node: "n", name: bad, offset: 0, maxBytes: 100) } == .notFound, "\(bad)")
        }
    }
}
