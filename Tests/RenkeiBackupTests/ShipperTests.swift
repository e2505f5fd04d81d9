import Foundation
import Logging
@testable import RenkeiBackup
import RenkeiStore
import RenkeiVault
import Testing

/// The shipper against the real vault server (`TestVault`: `VaultServer`
/// in a service group, mutual TLS on loopback, a real vault directory). A
/// vault outage is a graceful stop of that vault and a start on the same
/// port and data.
@Suite(.serialized) struct ShipperTests {
    @Test func firstSnapshotThenContinuousShippingAndDiscard() async throws {
        let node = try TestNode()
        let before = try node.write(20)
        try await withTestVault { vault in
            try await withShipper(node, try vault.connector(), settings: fastSettings()) { shipper in
                let store = try vault.store
                try await eventually("first snapshot") { store.snapshotCount == 1 }
                let snapshot = try #require(try store.latestSnapshot(node: "node-a"))
                #expect(snapshot.coversSeq == before)
                // The first base does not carry the writes twice: its change
                // log is empty, and the numbering goes on after `before`.
                let copy = node.root + "/first-base-copy"
                try FileManager.default.copyItem(atPath: vault.fixture.vaultData + "/nodes/node-a/snapshots/\(snapshot.id)/files/db",
                                                 toPath: copy)
                do {
                    let base = try Database.open(path: copy, options: DatabaseOptions(createIfMissing: false, changeLog: true))
                    #expect(base.firstRetainedChangeSequence == nil)
                    #expect(base.lastChangeSequence == before)
                    #expect(base.changeLogBytes == 0)
                }
                let last = try node.write(50, from: 20)
                try await eventually("shipped through \(last)") { store.lastSeq == last && shipper.status().lastAckedSeq == last }
                try expectContiguous(store, from: snapshot.coversSeq + 1, through: last)
                // Acknowledged entries are discarded from the node.
                try await eventually("discarded") { node.db.firstRetainedChangeSequence == nil }
                let status = shipper.status()
                #expect(status.vaultReachable)
                #expect(status.lagBytes == 0)
                #expect(status.lagSeconds == 0)
                #expect(!status.needsSnapshot)
                #expect(status.lastSnapshotID == snapshot.id)
                // The layout: db/ files, keys/CODE.keyring, node.json; no master key.
                let names = snapshot.files.map(\.name)
                #expect(names.contains(SnapshotLayout.keyringFile(code: "322016")))
                #expect(names.contains(SnapshotLayout.manifestFile))
                #expect(names.contains("db/CURRENT"))
                #expect(names.allSatisfy { SnapshotLayout.entry(of: $0) != nil })
            }
        }
        #expect(!FileManager.default.fileExists(atPath: node.root + "/backup-staging"))
    }

    @Test func resumesAfterOutageWithoutGapOrDuplicate() async throws {
        let node = try TestNode()
        try await withTestVault { vault in
            try await withShipper(node, try vault.connector(), settings: fastSettings()) { shipper in
                try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
                var last = try node.write(30)
                try await eventually("shipped 30") { try vault.store.lastSeq == last }
                try await vault.stop()
                last = try node.write(40, from: 30)
                try await eventually("outage noticed") { !shipper.status().vaultReachable }
                let during = shipper.status()
                #expect(during.lagBytes > 0)
                #expect(during.lastError != nil)
                #expect(during.lastAckedSeq < last)
                last = try node.write(25, from: 70)
                try await vault.start()
                let store = try vault.store
                try await eventually("caught up to \(last)") { store.lastSeq == last }
                let covers = try #require(try store.latestSnapshot(node: "node-a")).coversSeq
                try expectContiguous(store, from: covers + 1, through: last)
                #expect(store.snapshotCount == 1)
                try await eventually("reachable") { shipper.status().vaultReachable }
            }
        }
    }

    @Test func resumesAcrossShipperRestart() async throws {
        let node = try TestNode()
        try await withTestVault { vault in
            try await withShipper(node, try vault.connector(), settings: fastSettings()) { _ in
                try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
                let last = try node.write(10)
                try await eventually("shipped 10") { try vault.store.lastSeq == last }
            }
            // Node "down": writes land in the change log only.
            let last = try node.write(15, from: 10)
            try await withShipper(node, try vault.connector(), settings: fastSettings()) { _ in
                try await eventually("resumed to \(last)") { try vault.store.lastSeq == last }
            }
            let store = try vault.store
            let covers = try #require(try store.latestSnapshot(node: "node-a")).coversSeq
            try expectContiguous(store, from: covers + 1, through: last)
            #expect(store.snapshotCount == 1)
        }
    }

    @Test func holdBackOverflowDropsBacklogThenSnapshots() async throws {
        let node = try TestNode()
        try await withTestVault { vault in
            try await withShipper(node, try vault.connector(), settings: fastSettings(holdBackBytesMax: 16 * 1024)) { shipper in
                try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
                let before = try node.write(5)
                try await eventually("shipped 5") { try vault.store.lastSeq == before }
                try await vault.stop()
                try node.write(1, from: 5)
                try await eventually("outage noticed") { !shipper.status().vaultReachable }
                // About 40 KiB of changes: over the 16 KiB limit.
                let overflowLast = try node.write(40, from: 5, valueBytes: 1024)
                try await eventually("backlog dropped") { shipper.status().needsSnapshot }
                #expect(node.db.changeLogBytes <= 16 * 1024)
                #expect(shipper.status().backlogDrops >= 1)
                try await vault.start()
                let store = try vault.store
                try await eventually("second snapshot") { store.snapshotCount == 2 }
                let covers = try #require(try store.latestSnapshot(node: "node-a")).coversSeq
                #expect(covers >= overflowLast)
                let last = try node.write(10, from: 45)
                try await eventually("shipped after snapshot") { store.lastSeq == last }
                try expectContiguous(store, from: covers + 1, through: last)
                #expect(!shipper.status().needsSnapshot)
            }
        }
    }

    @Test func syncModeWaitsForTheVault() async throws {
        let node = try TestNode()
        try await withTestVault { vault in
            try await withShipper(node, try vault.connector(), settings: fastSettings(mode: .sync, syncTimeoutSeconds: 0.3)) { shipper in
                try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
                let seq = try node.write(1)
                try await shipper.waitUntilShipped(seq)
                #expect(try vault.store.lastSeq >= seq)
                try await vault.stop()
                let unshipped = try node.write(1, from: 1)
                try await eventually("outage noticed") { !shipper.status().vaultReachable }
                await #expect(throws: BackupError.self) { try await shipper.waitUntilShipped(unshipped) }
                try await vault.start()
                // The timeout is short (0.3 s) and the reconnect takes a
                // while on a busy machine: retry until the vault has it.
                try await eventually("acknowledged after the outage") { shipper.status().lastAckedSeq >= unshipped }
                try await shipper.waitUntilShipped(unshipped)
                #expect(try vault.store.lastSeq >= unshipped)
            }
        }
    }

    @Test func secondSnapshotSendsOnlyNewFiles() async throws {
        let node = try TestNode()
        try node.write(200, valueBytes: 200)
        try await withTestVault { vault in
            try await withShipper(node, try vault.connector(), settings: fastSettings()) { shipper in
                // The shipper's own first snapshot sends every file.
                try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
                let first = try #require(try vault.store.latestSnapshot(node: "node-a"))
                try node.write(50, from: 200, valueBytes: 200)
                let second = try await shipper.backupNow()
                #expect(second.id != first.id)
                #expect(second.sentFiles > 0)
                #expect(second.coversSeq == node.db.lastChangeSequence)
                #expect(second.sentFiles < second.files)
                #expect(try vault.store.snapshotCount >= 2)
                #expect(shipper.status().lastSnapshotID == second.id)
            }
        }
    }

    @Test func staleStagingIsRemovedOnStart() async throws {
        let node = try TestNode()
        let staging = node.root + "/backup-staging/db"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try await withTestVault { vault in
            try await withShipper(node, try vault.connector(), settings: fastSettings()) { _ in
                try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
            }
        }
        #expect(!FileManager.default.fileExists(atPath: node.root + "/backup-staging"))
    }

    /// A node with nothing to ship still takes its periodic snapshots: the
    /// idle wait is bounded by the time the next one is due.
    @Test func idleNodeTakesPeriodicSnapshots() async throws {
        let node = try TestNode()
        let last = try node.write(5)
        try await withTestVault { vault in
            try await withShipper(node, try vault.connector(), settings: fastSettings(snapshotIntervalSeconds: 1)) { shipper in
                try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
                // No commit from here on.
                try await eventually("a periodic snapshot of the idle node") { try vault.store.snapshotCount >= 2 }
                let latest = try #require(try vault.store.latestSnapshot(node: "node-a"))
                #expect(latest.coversSeq == last)
                #expect(shipper.status().lastAckedSeq == last)
            }
        }
    }

    @Test func idleWaitEndsAtItsDeadlineAndCommitsStayPending() async {
        let signal = CommitSignal()
        // No commit: returns at the deadline.
        await signal.wait(until: ContinuousClock.now + .milliseconds(10))
        // A commit signalled before a wait is not lost.
        signal.notify()
        await signal.wait(until: ContinuousClock.now + .seconds(3_600))
        signal.notify()
        await signal.wait(until: nil)
    }
}
