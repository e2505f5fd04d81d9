import Foundation
import Logging
import RenkeiBackup
import RenkeiStore
import RenkeiTenantStore
import RenkeiWire
import ServiceLifecycle
import Testing

/// A node-like data directory: a change-logged database under db/, a
/// keyring file and node.json, so the snapshot layout is the real one.
final class TestNode: Sendable {
    let root: String
    let db: Database
    let cf: ColumnFamily

    init() throws {
        root = NSTemporaryDirectory() + "renkei-backup-\(UUID().uuidString)"
        let dir = NodeDirectory(root)
        try FileManager.default.createDirectory(atPath: dir.keysDirectory, withIntermediateDirectories: true)
        try Data("wrapped keys".utf8).write(to: URL(fileURLWithPath: dir.keyringPath(for: "322016")))
        try Data(#"{"nodeID":"test"}"#.utf8).write(to: URL(fileURLWithPath: dir.manifestPath))
        var options = DatabaseOptions()
        options.changeLog = true
        options.blockCacheBytes = 1 << 20
        options.writeBufferBytes = 1 << 20
        db = try Database.open(path: dir.databasePath, options: options)
        cf = try db.createColumnFamily(named: "t322016_records")
    }

    var directory: NodeDirectory { NodeDirectory(root) }

    /// Writes `count` entries, each one put of `valueBytes`; returns the last seq.
    @discardableResult
    func write(_ count: Int, from start: Int = 0, valueBytes: Int = 32) throws -> UInt64 {
        var last: UInt64 = 0
        for i in start..<(start + count) {
            last = try db.put(Array("k\(i)".utf8), [UInt8](repeating: UInt8(i & 0xff), count: valueBytes), in: cf, sync: false) ?? 0
        }
        return last
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

func fastSettings(mode: VaultSettings.Mode = .async, holdBackBytesMax: Int = 1 << 30, syncTimeoutSeconds: Double = 10) -> VaultSettings {
    VaultSettings(host: "test", port: 1, mode: mode, snapshotIntervalMinutes: 0, holdBackBytesMax: holdBackBytesMax,
                  shipBatchRecords: 100, reconnectDelaySecondsMin: 0.02, reconnectDelaySecondsMax: 0.1,
                  syncTimeoutSeconds: syncTimeoutSeconds)
}

/// Polls `condition` until it holds, for at most `seconds` (generous: a
/// busy machine; the test fails on timeout, it never asserts a duration).
/// 120 s because in CI every suite runs at once on two cores, and the
/// shipper's first snapshot (a checkpoint, hashing, upload) once needed more
/// than 15 s there.
func eventually(_ what: String, seconds: Double = 120, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else {
            Issue.record("timed out waiting for: \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Runs a shipper for `node` against `connector` while `body` runs.
func withShipper<C: VaultConnector>(_ node: TestNode, _ connector: C, settings: VaultSettings,
                                    _ body: @Sendable (ChangeShipper<C>) async throws -> Void) async throws {
    var logger = Logger(label: "test.shipper")
    logger.logLevel = .warning
    let shipper = ChangeShipper(settings: settings, database: node.db, directory: node.directory, connector: connector, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await shipper.run() }
        defer { group.cancelAll() }
        try await body(shipper)
    }
}

/// Checks the vault holds every change from `from` through `through`,
/// exactly once, each decoding to its original entry.
func expectContiguous(_ vault: FakeVault, from: UInt64, through: UInt64) {
    let records = vault.state.withLock { $0.records }
    for seq in from...through {
        guard let r = records[seq] else {
            Issue.record("the vault lacks change \(seq)")
            return
        }
        #expect((try? ChangeEntry.decode(r.payload, seq: seq))?.seq == seq)
    }
    #expect(vault.state.withLock { $0.duplicates } == 0)
}

@Suite(.serialized) struct ShipperTests {
    @Test func firstSnapshotThenContinuousShippingAndDiscard() async throws {
        let node = try TestNode()
        let before = try node.write(20)
        try await withFakeVault { vault, connector in
            try await withShipper(node, connector, settings: fastSettings()) { shipper in
                try await eventually("first snapshot") { vault.state.withLock { $0.snapshots.count } == 1 }
                let covers = vault.state.withLock { $0.snapshots[0].coversSeq }
                #expect(covers == before)
                let last = try node.write(50, from: 20)
                try await eventually("shipped through \(last)") { vault.lastSeq == last && shipper.status().lastAckedSeq == last }
                expectContiguous(vault, from: covers + 1, through: last)
                // Acknowledged entries are discarded from the node.
                try await eventually("discarded") { node.db.firstRetainedChangeSequence == nil }
                let status = shipper.status()
                #expect(status.vaultReachable)
                #expect(status.lagBytes == 0)
                #expect(status.lagSeconds == 0)
                #expect(!status.needsSnapshot)
                #expect(status.lastSnapshotID == vault.state.withLock { $0.snapshots[0].id })
                // The layout: db/ files, keys/CODE.keyring, node.json; no master key.
                let names = vault.state.withLock { Array($0.snapshots[0].files.keys) }
                #expect(names.contains("keys/322016.keyring"))
                #expect(names.contains("node.json"))
                #expect(names.contains("db/CURRENT"))
                #expect(names.allSatisfy { $0.hasPrefix("db/") || $0.hasPrefix("keys/") || $0 == "node.json" })
            }
        }
        #expect(!FileManager.default.fileExists(atPath: node.root + "/backup-staging"))
    }

    @Test func resumesAfterOutageWithoutGapOrDuplicate() async throws {
        let node = try TestNode()
        try await withFakeVault { vault, connector in
            try await withShipper(node, connector, settings: fastSettings()) { shipper in
                try await eventually("first snapshot") { vault.state.withLock { $0.snapshots.count } == 1 }
                var last = try node.write(30)
                try await eventually("shipped 30") { vault.lastSeq == last }
                vault.setDown(true)
                last = try node.write(40, from: 30)  // the next request finds the vault down
                try await eventually("outage noticed") { !shipper.status().vaultReachable }
                let during = shipper.status()
                #expect(during.lagBytes > 0)
                #expect(during.lastError != nil)
                #expect(vault.lastSeq < last)
                last = try node.write(25, from: 70)
                vault.setDown(false)
                try await eventually("caught up to \(last)") { vault.lastSeq == last }
                expectContiguous(vault, from: vault.state.withLock { $0.snapshots[0].coversSeq } + 1, through: last)
                #expect(vault.state.withLock { $0.snapshots.count } == 1)
                try await eventually("reachable") { shipper.status().vaultReachable }
            }
        }
    }

    @Test func resumesAcrossShipperRestart() async throws {
        let node = try TestNode()
        try await withFakeVault { vault, connector in
            try await withShipper(node, connector, settings: fastSettings()) { _ in
                try await eventually("first snapshot") { vault.state.withLock { $0.snapshots.count } == 1 }
                let last = try node.write(10)
                try await eventually("shipped 10") { vault.lastSeq == last }
            }
            // Node "down": writes land in the change log only.
            let last = try node.write(15, from: 10)
            try await withShipper(node, connector, settings: fastSettings()) { _ in
                try await eventually("resumed to \(last)") { vault.lastSeq == last }
            }
            expectContiguous(vault, from: vault.state.withLock { $0.snapshots[0].coversSeq } + 1, through: last)
            #expect(vault.state.withLock { $0.snapshots.count } == 1)
        }
    }

    @Test func holdBackOverflowDropsBacklogThenSnapshots() async throws {
        let node = try TestNode()
        try await withFakeVault { vault, connector in
            try await withShipper(node, connector, settings: fastSettings(holdBackBytesMax: 16 * 1024)) { shipper in
                try await eventually("first snapshot") { vault.state.withLock { $0.snapshots.count } == 1 }
                let before = try node.write(5)
                try await eventually("shipped 5") { vault.lastSeq == before }
                vault.setDown(true)
                try node.write(1, from: 5)  // the next request finds the vault down
                try await eventually("outage noticed") { !shipper.status().vaultReachable }
                // About 40 KiB of changes: over the 16 KiB limit.
                let overflowLast = try node.write(40, from: 5, valueBytes: 1024)
                try await eventually("backlog dropped") { shipper.status().needsSnapshot }
                #expect(node.db.changeLogBytes <= 16 * 1024)
                #expect(shipper.status().backlogDrops >= 1)
                vault.setDown(false)
                try await eventually("second snapshot") { vault.state.withLock { $0.snapshots.count } == 2 }
                let covers = vault.state.withLock { $0.snapshots[1].coversSeq }
                #expect(covers >= overflowLast)
                let last = try node.write(10, from: 45)
                try await eventually("shipped after snapshot") { vault.lastSeq == last }
                expectContiguous(vault, from: covers + 1, through: last)
                #expect(!shipper.status().needsSnapshot)
            }
        }
    }

    @Test func syncModeWaitsForTheVault() async throws {
        let node = try TestNode()
        try await withFakeVault { vault, connector in
            try await withShipper(node, connector, settings: fastSettings(mode: .sync, syncTimeoutSeconds: 0.3)) { shipper in
                try await eventually("first snapshot") { vault.state.withLock { $0.snapshots.count } == 1 }
                let seq = try node.write(1)
                try await shipper.waitUntilShipped(seq)
                #expect(vault.lastSeq >= seq)
                vault.setDown(true)
                let unshipped = try node.write(1, from: 1)  // the next request finds the vault down
                try await eventually("outage noticed") { !shipper.status().vaultReachable }
                await #expect(throws: BackupError.self) { try await shipper.waitUntilShipped(unshipped) }
                vault.setDown(false)
                let waiter = Task { try await shipper.waitUntilShipped(unshipped) }
                try await waiter.value
                #expect(vault.lastSeq >= unshipped)
            }
        }
    }

    @Test func secondSnapshotSendsOnlyNewFiles() async throws {
        let node = try TestNode()
        try node.write(200, valueBytes: 200)
        try await withFakeVault { vault, connector in
            try await withShipper(node, connector, settings: fastSettings()) { shipper in
                // The shipper's own first snapshot sends every file.
                try await eventually("first snapshot") { vault.state.withLock { $0.snapshots.count } == 1 }
                let first = vault.state.withLock { $0.snapshots[0] }
                #expect(first.files.values.allSatisfy { $0.data.count == Int($0.size) })
                try node.write(50, from: 200, valueBytes: 200)
                let second = try await shipper.backupNow()
                #expect(second.id != first.id)
                #expect(second.sentFiles > 0)
                #expect(second.coversSeq == node.db.lastChangeSequence)
                #expect(second.sentFiles < second.files)
                #expect(vault.state.withLock { $0.snapshots.count } >= 2)
                #expect(shipper.status().lastSnapshotID == second.id)
            }
        }
    }

    @Test func staleStagingIsRemovedOnStart() async throws {
        let node = try TestNode()
        let staging = node.root + "/backup-staging/db"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try await withFakeVault { vault, connector in
            try await withShipper(node, connector, settings: fastSettings()) { _ in
                try await eventually("first snapshot") { vault.state.withLock { $0.snapshots.count } == 1 }
            }
        }
        #expect(!FileManager.default.fileExists(atPath: node.root + "/backup-staging"))
    }
}
