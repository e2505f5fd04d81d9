import Foundation
import Logging
import MetricsTestKit
@testable import RenkeiBackup
import RenkeiStore
import RenkeiVault
import Synchronization
import Testing

/// The shipper and the vault's lifecycle: restarts, graceful shutdown with
/// an open Ship stream, metrics. Real vault server, mutual TLS on loopback.
@Suite(.serialized) struct RealVaultTests {
    @Test func shipsOverMutualTLSAndResumesAfterTheVaultRestarts() async throws {
        let node = try TestNode()
        try node.write(10)
        let vault = try TestVault()
        try await vault.start()
        // Phase 1: vault up, first snapshot, shipping.
        try await withShipper(node, try vault.connector(), settings: fastSettings()) { shipper in
            let store = try vault.store
            try await eventually("first snapshot") { ((try? store.latestSnapshot(node: "node-a")) ?? nil) != nil }
            let last = try node.write(40, from: 10)
            try await eventually("shipped through \(last)") { shipper.status().lastAckedSeq == last }
            #expect(try store.lastSequence(node: "node-a") == last)
            let snapshot = try #require(try store.latestSnapshot(node: "node-a"))
            #expect(snapshot.files.contains { $0.name == "keys/322016.keyring" })
            #expect(snapshot.files.contains { $0.name == "db/CURRENT" })
            try expectContiguous(store, from: snapshot.coversSeq + 1, through: last)
        }
        try await vault.stop()
        // Phase 2: the vault is down while the node writes; then it is back.
        try await withShipper(node, try vault.connector(), settings: fastSettings()) { shipper in
            let last = try node.write(30, from: 50)
            try await eventually("outage noticed") { shipper.status().lastError != nil }
            #expect(!shipper.status().vaultReachable)
            try await vault.start()
            let store = try vault.store
            try await eventually("caught up to \(last)") { shipper.status().lastAckedSeq == last }
            // The outage's error is not reported once the vault is back.
            #expect(shipper.status().vaultReachable && shipper.status().lastError == nil)
            let snapshot = try #require(try store.latestSnapshot(node: "node-a"))
            // No gap, no duplicate: exactly the sequence, once each.
            try expectContiguous(store, from: snapshot.coversSeq + 1, through: last)
            #expect(store.snapshotCount == 1)
            try await eventually("discarded") { node.db.firstRetainedChangeSequence == nil }
        }
        try await vault.stop()
    }

    /// SIGTERM-like graceful shutdown of the vault's service group while
    /// the node holds its Ship stream open (idle, then under writes): the
    /// vault stops; the node sees a broken connection, keeps its changes,
    /// and resumes on a new vault over the same data with no gap and no
    /// duplicate.
    @Test func vaultShutsDownGracefullyWhileAShipperIsConnected() async throws {
        let node = try TestNode()
        let vault = try TestVault()
        try await vault.start()
        try await withShipper(node, try vault.connector(), settings: fastSettings()) { shipper in
            try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
            let first = try node.write(20)
            try await eventually("shipped through \(first)") { shipper.status().lastAckedSeq == first }
            // Idle with the Ship stream open: the stop must not wait for it.
            try await vault.stop()
            try await eventually("outage noticed") { !shipper.status().vaultReachable }

            // Again, this time with writes going on while the vault stops.
            try await vault.start()
            try await eventually("reconnected") { shipper.status().vaultReachable }
            let writer = Task {
                var last: UInt64 = 0
                for round in 0..<40 {
                    last = try node.write(5, from: 20 + round * 5)
                    try await Task.sleep(for: .milliseconds(5))
                }
                return last
            }
            try await eventually("shipping under writes") { shipper.status().lastAckedSeq > first }
            try await vault.stop()
            let written = try await writer.value
            let last = try node.write(10, from: 220)
            #expect(last > written)
            try await vault.start()
            let store = try vault.store
            try await eventually("caught up to \(last)") { shipper.status().lastAckedSeq == last }
            let covers = try #require(try store.latestSnapshot(node: "node-a")).coversSeq
            try expectContiguous(store, from: covers + 1, through: last)
            #expect(store.snapshotCount == 1)
        }
        try await vault.stop()
    }

    @Test func metricsFollowTheShipper() async throws {
        let metrics = TestMetrics()
        let node = try TestNode()
        let dims = [("node", "node-a")]
        let vault = try TestVault()
        try await vault.start()
        try await withShipper(node, try vault.connector(), settings: fastSettings(holdBackBytesMax: 16 * 1024), metrics: metrics) { shipper in
            try await eventually("first snapshot") { try vault.store.snapshotCount == 1 }
            let covers = try #require(try vault.store.latestSnapshot(node: "node-a")).coversSeq
            let last = try node.write(30)
            try await eventually("shipped through \(last)") { shipper.status().lastAckedSeq == last }
            try await eventually("gauges updated") {
                try metrics.expectGauge(BackupMetrics.Name.lastAckedSeq, dims).lastValue == Double(last)
            }
            #expect(try metrics.expectGauge(BackupMetrics.Name.lastShippedSeq, dims).lastValue == Double(last))
            #expect(try metrics.expectGauge(BackupMetrics.Name.vaultReachable, dims).lastValue == 1)
            #expect(try metrics.expectGauge(BackupMetrics.Name.lagBytes, dims).values.isEmpty == false)
            #expect(try metrics.expectGauge(BackupMetrics.Name.lagSeconds, dims).lastValue ?? -1 >= 0)
            #expect(try metrics.expectGauge(BackupMetrics.Name.snapshotAgeSeconds, dims).lastValue ?? -1 >= 0)
            #expect(try metrics.expectCounter(BackupMetrics.Name.snapshots, dims).totalValue == 1)
            #expect(try metrics.expectCounter(BackupMetrics.Name.shippedRecords, dims).totalValue == Int64(last - covers))
            #expect(try metrics.expectCounter(BackupMetrics.Name.shippedBytes, dims).totalValue > 0)
            #expect(try metrics.expectCounter(BackupMetrics.Name.backlogDrops, dims).totalValue == 0)

            // Vault away: reachability drops, the lag shows in bytes, then
            // the hold-back limit drops the backlog.
            try await vault.stop()
            try node.write(1, from: 30)
            try await eventually("unreachable in the metrics") {
                try metrics.expectGauge(BackupMetrics.Name.vaultReachable, dims).lastValue == 0
            }
            try await eventually("lag in bytes") {
                try (metrics.expectGauge(BackupMetrics.Name.lagBytes, dims).lastValue ?? 0) > 0
            }
            try node.write(40, from: 31, valueBytes: 1024)
            try await eventually("backlog drop counted") {
                try metrics.expectCounter(BackupMetrics.Name.backlogDrops, dims).totalValue >= 1
            }
            // The time-based gauges are refreshed while nothing else happens.
            let ages = try metrics.expectGauge(BackupMetrics.Name.snapshotAgeSeconds, dims).values.count
            try await eventually("snapshot age refreshed") {
                try metrics.expectGauge(BackupMetrics.Name.snapshotAgeSeconds, dims).values.count > ages
            }
            try await vault.start()
            try await eventually("second snapshot counted") {
                try metrics.expectCounter(BackupMetrics.Name.snapshots, dims).totalValue == 2
            }
            try await eventually("reachable again") {
                try metrics.expectGauge(BackupMetrics.Name.vaultReachable, dims).lastValue == 1
            }
        }
        try await vault.stop()
    }
}
