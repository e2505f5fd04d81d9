import Foundation
import Testing
import RenkeiTenantStore
@testable import RenkeiRestore

/// The backup drill's comparison (`DrillVerdict`), its catalog helpers, and
/// a restore through an exact change against a real store and vault.
struct DrillVerdictTests {
    let token = Array(repeating: UInt8(7), count: 16)
    let counts = TenantCounts(residents: 40, vaccinations: 97, receivedFiles: 1)

    func live(_ tenants: [String: TenantCounts]) -> DrillLive {
        DrillLive(sentinelToken: token, sentinelUnixMillis: 1_000, sentinelSeq: 41, countedSeq: 42, tenants: tenants)
    }

    @Test func everythingMatchingPasses() {
        let v = DrillVerdict.judge(
            live: live(["322016": counts, "322024": TenantCounts()]),
            restored: DrillRestored(lastSeq: 42, tenants: ["322016": counts, "322024": TenantCounts()], sentinelToken: token, seconds: 1.5),
            vaultNewest: (seq: 42, commitTimeMs: 10_000), restoreStartedUnixMillis: 12_500)
        #expect(v.passed)
        #expect(v.failures.isEmpty)
        #expect(v.tenants.map(\.code) == ["322016", "322024"])
        #expect(v.tenants.allSatisfy { $0.status == .ok })
        #expect(v.sentinel == .found)
        #expect(v.rpoSeconds == 2.5)
        #expect(v.rtoSeconds == 1.5)
    }

    @Test func eachFailingPartIsNamed() {
        var fewer = counts
        fewer.vaccinations -= 1
        let v = DrillVerdict.judge(
            live: live(["322016": counts, "322032": counts]),
            restored: DrillRestored(lastSeq: 40, tenants: ["322016": fewer, "322067": counts], sentinelToken: nil, seconds: 1),
            vaultNewest: nil, restoreStartedUnixMillis: 5)
        #expect(!v.passed)
        #expect(v.tenants.map(\.status) == [.mismatch, .missing, .unexpected])
        #expect(v.failures.contains { $0.hasPrefix("tenant 322016: counts differ") && $0.contains("97 vaccinations") && $0.contains("96 vaccinations") })
        #expect(v.failures.contains { $0.hasPrefix("tenant 322032:") && $0.contains("absent") })
        #expect(v.failures.contains { $0.hasPrefix("tenant 322067:") })
        #expect(v.failures.contains { $0.hasPrefix("sentinel:") && $0.contains("change 41") })
        #expect(v.failures.contains { $0.hasPrefix("sequence:") })
        #expect(v.sentinel == .missing)
        #expect(v.rpoSeconds == nil)
    }

    @Test func anotherDrillsSentinelIsNotFound() {
        let v = DrillVerdict.judge(
            live: live(["322016": counts]),
            restored: DrillRestored(lastSeq: 42, tenants: ["322016": counts], sentinelToken: Array(repeating: 1, count: 16), seconds: 1),
            vaultNewest: (seq: 42, commitTimeMs: 9_000), restoreStartedUnixMillis: 8_000)
        #expect(v.sentinel == .different)
        #expect(!v.passed)
        // A vault clock ahead of ours never gives a negative RPO.
        #expect(v.rpoSeconds == 0)
    }

    @Test func theVerdictEncodesAsJSON() throws {
        let v = DrillVerdict.judge(live: live(["322016": counts]),
                                   restored: DrillRestored(lastSeq: 42, tenants: ["322016": counts], sentinelToken: token, seconds: 1),
                                   vaultNewest: (seq: 42, commitTimeMs: 1), restoreStartedUnixMillis: 2)
        let text = String(decoding: try JSONEncoder().encode(v), as: UTF8.self)
        #expect(text.contains("\"status\":\"OK\"") && text.contains("\"sentinel\":\"found\""))
        #expect(try JSONDecoder().decode(DrillVerdict.self, from: Data(text.utf8)) == v)
    }

    @Test func theCatalogLimitedToAChange() {
        func segment(_ first: UInt64, _ last: UInt64) -> RestoreCatalog.Segment {
            RestoreCatalog.Segment(name: "s\(first)", firstSeq: first, lastSeq: last, firstCommitTimeMs: first * 10,
                                   lastCommitTimeMs: last * 10, size: 1, sha256: "")
        }
        func snapshot(_ covers: UInt64) -> RestoreCatalog.Snapshot {
            RestoreCatalog.Snapshot(id: "p\(covers)", coversSeq: covers, coversCommitTimeMs: covers * 10, createdTimeMs: covers * 10 + 5, files: [])
        }
        let catalog = RestoreCatalog(node: "n", snapshots: [snapshot(5), snapshot(30)],
                                     segments: [segment(1, 10), segment(11, 20), segment(21, 35)], storedSeq: 35)
        let limited = catalog.limited(throughSeq: 15)
        #expect(limited.snapshots.map(\.coversSeq) == [5])
        #expect(limited.segments.map(\.firstSeq) == [1, 11])
        #expect(limited.storedSeq == 15)
        #expect(catalog.newestChange?.seq == 35 && catalog.newestChange?.commitTimeMs == 350)
        // A snapshot newer than every segment: its covered change, without a
        // known commit time bounded by the vault's commit of the snapshot.
        let snapshotOnly = RestoreCatalog(node: "n", snapshots: [RestoreCatalog.Snapshot(id: "p", coversSeq: 9, coversCommitTimeMs: nil, createdTimeMs: 77, files: [])],
                                          segments: [segment(1, 4)])
        #expect(snapshotOnly.newestChange?.seq == 9 && snapshotOnly.newestChange?.commitTimeMs == 77)
        #expect(RestoreCatalog(node: "n", snapshots: [], segments: []).newestChange == nil)
    }
}

/// The live side (`NodeStore.writeDrillMark`) and the restore through its
/// change, with a real store and vault.
struct DrillRestoreTests {
    @Test func aRestoreThroughTheMarkedChangeMatchesTheMarkExactly() async throws {
        let drill = try Drill(tenants: [matsue, izumo])
        try drill.write(matsue, people(matsue, count: 30))
        try drill.write(izumo, people(izumo, count: 10))
        try drill.snapshot()
        try drill.write(matsue, people(matsue, count: 5, seed: 1, from: 30))
        let mark = try drill.store!.writeDrillMark(.random(unixMillis: 1_234))
        #expect(mark.countedSeq == mark.sentinelSeq)
        #expect(mark.countedSeq == drill.lastSeq)
        #expect(mark.tenants.map(\.code) == [matsue, izumo])
        #expect(mark.tenants[0].counts.residents == 35 && mark.tenants[1].counts.residents == 10)
        #expect(try drill.store!.drillSentinel() == mark.sentinel)
        // Writes after the mark, in the same segment and later ones, and a
        // snapshot covering them: none of it may reach the restore.
        try drill.write(izumo, people(izumo, count: 7, seed: 1, from: 10))
        try drill.ship(perSegment: 1_000)
        try drill.write(matsue, people(matsue, count: 3, seed: 1, from: 35))
        try drill.snapshot()
        try drill.ship()

        let report = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [drill.kit(matsue), drill.kit(izumo)],
                                                            throughSeq: mark.countedSeq))
        #expect(report.lastSeq == mark.countedSeq)
        #expect(report.snapshotID == "snap-1")
        let restored = try drill.openRestored()
        #expect(try restored.drillSentinel() == mark.sentinel)
        var counts: [String: TenantCounts] = [:]
        for t in report.tenants { counts[t.code.rawValue] = t.counts }
        var live: [String: TenantCounts] = [:]
        for t in mark.tenants { live[t.code.rawValue] = t.counts }
        let verdict = DrillVerdict.judge(
            live: DrillLive(sentinelToken: mark.sentinel.token, sentinelUnixMillis: mark.sentinel.unixMillis, sentinelSeq: mark.sentinelSeq,
                            countedSeq: mark.countedSeq, tenants: live),
            restored: DrillRestored(lastSeq: report.lastSeq, tenants: counts, sentinelToken: try restored.drillSentinel()?.token, seconds: report.seconds),
            vaultNewest: nil, restoreStartedUnixMillis: 0)
        #expect(verdict.passed, "\(verdict.failures)")
        #expect(try restored.tenant(izumo).counts().residents == 10)
    }

    @Test func aChangeTheVaultDoesNotHoldIsAGap() async throws {
        let drill = try Drill()
        try drill.write(matsue, people(matsue, count: 5))
        try drill.snapshot()
        try drill.ship()
        let mark = try drill.store!.writeDrillMark(.random(unixMillis: 1))
        // Not shipped: the vault ends before the mark.
        let error = await restoreError {
            _ = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [drill.kit(matsue)], throughSeq: mark.countedSeq))
        }
        #expect(error?.code == .gap)
        #expect(error?.message.contains("change \(mark.countedSeq)") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: drill.target()))
    }

    @Test func throughAChangeAndAPointInTimeTogetherIsRefused() async throws {
        let drill = try Drill()
        try drill.snapshot()
        let error = await restoreError {
            _ = try await drill.restore(RestoreRequest(node: nodeName, target: drill.target(), keys: [drill.kit(matsue)], pointInTimeMs: 1, throughSeq: 1))
        }
        #expect(error?.code == .invalidArgument)
    }
}
