import Foundation
import Testing
import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import RenkeiVault
@testable import RenkeiRestore
@testable import RenkeiTenantStore

/// Restores from a real `VaultStore` fed by a real node (RocksDB, change log on).
@Suite struct RestoreTests {
    @Test func latestRestoreMatchesTheLiveNode() async throws {
        let drill = try Drill()
        try drill.write(matsue, people(matsue, count: 20))
        try drill.snapshot()
        let later = people(matsue, count: 10, from: 20)
        try drill.write(matsue, later)
        try drill.ship()
        let sentinel = later.last!.resident
        let live = try drill.store!.tenant(matsue).counts()
        let key = try drill.kit(matsue)
        let lastSeq = drill.lastSeq

        let report = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [key]))
        #expect(report.snapshotID == "snap-1")
        #expect(report.lastSeq == lastSeq)
        #expect(report.changesApplied == Int(lastSeq - report.baseSeq))
        #expect(report.tenants.map(\.code) == [matsue])
        #expect(report.tenants[0].counts == live)
        #expect(report.tenants[0].keyringFingerprint == key.kit.keyringFingerprint)

        let restored = try drill.openRestored()
        #expect(restored.manifest.masterKeyFingerprint != drill.store!.manifest.masterKeyFingerprint)
        #expect(try restored.tenant(matsue).counts() == live)
        #expect(try restored.tenant(matsue).resident(number: sentinel.individualNumber) == sentinel)
        #expect(try restored.tenant(matsue).vaccinations(of: later[0].resident.addressNumber) == later[0].vaccinations)
        // The restored node continues the source's change numbering.
        #expect(restored.db.lastChangeSequence == lastSeq)
        // No staging directory is left behind.
        #expect(!FileManager.default.fileExists(atPath: Restorer.stagingPath(for: drill.target())))
    }

    @Test func pointInTimeStopsBetweenTwoKnownWrites() async throws {
        let drill = try Drill()
        try drill.snapshot()
        let first = people(matsue, count: 5)
        try drill.write(matsue, first)
        let firstSeq = drill.lastSeq
        let at = try drill.commitTime(of: firstSeq)
        // Commit times have millisecond resolution: make the next write's later.
        while UInt64(Date().timeIntervalSince1970 * 1000) <= at + 1 { usleep(1_000) }
        let second = people(matsue, count: 5, from: 5)
        try drill.write(matsue, second)
        try drill.ship(perSegment: 4)
        try drill.snapshot()  // a newer snapshot the point-in-time restore must not use
        try drill.write(matsue, people(matsue, count: 3, from: 10))
        try drill.ship(perSegment: 4)
        let key = try drill.kit(matsue)

        let report = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [key], pointInTimeMs: at))
        #expect(report.snapshotID == "snap-1")
        #expect(report.lastSeq == firstSeq)
        #expect(report.tenants[0].counts.residents == 5)
        let restored = try drill.openRestored()
        #expect(try restored.tenant(matsue).resident(number: first[4].resident.individualNumber) == first[4].resident)
        #expect(try restored.tenant(matsue).resident(number: second[0].resident.individualNumber) == nil)
    }

    @Test func aFlippedByteInASegmentFailsNamingIt() async throws {
        let drill = try Drill()
        try drill.snapshot()
        for person in people(matsue, count: 6) { try drill.write(matsue, [person]) }
        try drill.ship(perSegment: 3)
        let segments = try drill.vault.segments(node: nodeName)
        try #require(segments.count > 2)
        let segment = segments[segments.count - 2]
        try flipByte(in: drill.vaultRoot + "/nodes/\(nodeName)/segments/" + segment.fileName)
        let key = try drill.kit(matsue)
        let error = await restoreError { _ = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [key])) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains(segment.fileName) == true)
        #expect(!FileManager.default.fileExists(atPath: drill.target()))
        #expect(!FileManager.default.fileExists(atPath: Restorer.stagingPath(for: drill.target())))
    }

    @Test func aFlippedByteInASnapshotFileFailsNamingIt() async throws {
        let drill = try Drill()
        try drill.write(matsue, people(matsue, count: 10))
        let manifest = try drill.snapshot()
        let file = manifest.files.first { $0.name.hasSuffix(".sst") } ?? manifest.files.first { $0.name.hasPrefix("db/MANIFEST") }!
        try flipByte(in: drill.vaultRoot + "/nodes/\(nodeName)/snapshots/snap-1/files/" + file.name)
        let key = try drill.kit(matsue)
        let error = await restoreError { _ = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [key])) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains(file.name) == true)
        #expect(error?.message.contains("snap-1") == true)
    }

    @Test func aMissingSegmentIsAGapNotAShorterRestore() async throws {
        let drill = try Drill()
        let base = try drill.snapshot()
        for person in people(matsue, count: 8) { try drill.write(matsue, [person]) }
        try drill.ship(perSegment: 3)
        let key = try drill.kit(matsue)
        let segments = try drill.vault.segments(node: nodeName)
        let dir = drill.vaultRoot + "/nodes/\(nodeName)/segments/"
        // The newest, then one in the middle: neither may shorten the restore.
        let middle = segments.filter { $0.firstSeq > base.coversSeq + 1 }[0]
        let newest = segments.last!
        #expect(middle != newest)
        for gone in [newest, middle] {
            try FileManager.default.removeItem(atPath: dir + gone.fileName)
            try FileManager.default.removeItem(atPath: dir + gone.fileName + ".meta")
            let error = await restoreError { _ = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [key])) }
            #expect(error?.code == .gap)
            #expect(error?.message.contains("changes \(gone.firstSeq)–\(gone.lastSeq) are missing from the vault") == true)
        }
    }

    @Test func oneTenantOutOfASharedNode() async throws {
        let drill = try Drill(tenants: [matsue, izumo])
        try drill.write(matsue, people(matsue, count: 8))
        try drill.write(izumo, people(izumo, count: 6))
        try drill.snapshot()
        let more = people(izumo, count: 4, from: 6)
        try drill.write(izumo, more)
        try drill.write(matsue, people(matsue, count: 3, from: 8))
        try drill.ship()
        let live = try drill.store!.tenant(izumo).counts()
        let key = try drill.kit(izumo)

        // The node is found from the code (a vault directory can list its nodes).
        let report = try await drill.restore(RestoreRequest(code: izumo, target: drill.target(), keys: [key]))
        #expect(report.node == nodeName)
        #expect(report.tenants.map(\.code) == [izumo])
        #expect(report.tenants[0].counts == live)
        let restored = try drill.openRestored()
        #expect(restored.tenants.map(\.code) == [izumo])
        #expect(try restored.tenant(izumo).resident(number: more[3].resident.individualNumber) == more[3].resident)
        #expect(restored.db.columnFamilyNames.allSatisfy { !$0.hasPrefix("t322016.") })
        #expect(!FileManager.default.fileExists(atPath: restored.directory.keyringPath(for: matsue.rawValue)))
        #expect(restored.db.firstRetainedChangeSequence == nil)
    }

    @Test func withoutTheKitNothingIsRestored() async throws {
        let drill = try Drill(tenants: [matsue, izumo])
        try drill.write(matsue, people(matsue, count: 4))
        try drill.snapshot()
        try drill.ship()
        let matsueKey = try drill.kit(matsue)
        let izumoKey = try drill.kit(izumo)

        // A whole-node restore needs every tenant's kit.
        let missing = await restoreError { _ = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [matsueKey])) }
        #expect(missing?.code == .keys)
        #expect(missing?.message.contains("no recovery kit was given for municipalities 322032") == true)
        #expect(!FileManager.default.fileExists(atPath: drill.target()))

        // A kit for another municipality than --code.
        let wrong = await restoreError { _ = try await drill.restore(RestoreRequest(node: nodeName, code: matsue, target: drill.target(), keys: [izumoKey])) }
        #expect(wrong?.code == .invalidArgument)
        #expect(wrong?.message.contains("is for municipality 322032, not 322016") == true)

        // A wrong passphrase fails before anything is fetched.
        let badKey = RestoreKey(kit: matsueKey.kit, passphrase: "not the passphrase at all, sorry")
        let bad = await restoreError { _ = try await drill.restore(RestoreRequest(node: nodeName, code: matsue, target: drill.target(), keys: [badKey])) }
        #expect(bad?.code == .keys)
        #expect(bad?.message.contains("passphrase does not open this recovery kit") == true)

        // Both kits: it opens.
        let report = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [matsueKey, izumoKey]))
        #expect(report.tenants.map(\.code) == [matsue, izumo])
    }

    @Test func aNonEmptyTargetIsRefused() async throws {
        let drill = try Drill()
        try drill.snapshot()
        let key = try drill.kit(matsue)
        try FileManager.default.createDirectory(atPath: drill.target(), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: drill.target() + "/keep.txt", contents: Data("x".utf8))
        let error = await restoreError { _ = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [key])) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("is not empty") == true)
        #expect(FileManager.default.fileExists(atPath: drill.target() + "/keep.txt"))
        // An empty existing directory is fine.
        try FileManager.default.removeItem(atPath: drill.target() + "/keep.txt")
        _ = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [key]))
        #expect(try drill.openRestored().tenants.map(\.code) == [matsue])
    }
}

func flipByte(in path: String) throws {
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    bytes[bytes.count / 2] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
