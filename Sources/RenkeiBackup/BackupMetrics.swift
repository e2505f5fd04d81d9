import Metrics

/// The node's backup metrics (swift-metrics), created once per shipper.
///
/// Gauges: `renkei_backup_lag_seconds`, `renkei_backup_lag_bytes`,
/// `renkei_backup_last_shipped_seq`, `renkei_backup_last_acked_seq`,
/// `renkei_backup_snapshot_age_seconds` (-1 before the first snapshot is
/// known), `renkei_backup_vault_reachable` (0 or 1). Counters:
/// `renkei_backup_shipped_records_total`, `renkei_backup_shipped_bytes_total`
/// (payload bytes the vault acknowledged), `renkei_backup_snapshots_total`
/// (snapshots this process committed), `renkei_backup_backlog_drops_total`.
///
/// The only label is `node` (one value per process), so the series count is
/// fixed. The gauges are set from a `BackupStatus` whenever the shipper's
/// state changes and every `ChangeShipper.metricsIntervalSeconds`, so the
/// time-based ones keep moving on an idle node.
///
/// The factory comes in as a parameter (the node's main bootstraps a
/// backend; tests pass their own), never from a global in the library.
public struct BackupMetrics: Sendable {
    let lagSeconds: Gauge
    let lagBytes: Gauge
    let lastShippedSeq: Gauge
    let lastAckedSeq: Gauge
    let snapshotAgeSeconds: Gauge
    let vaultReachable: Gauge
    let shippedRecords: Counter
    let shippedBytes: Counter
    let snapshots: Counter
    let backlogDrops: Counter

    /// The metric names, for documentation and tests.
    public enum Name {
        public static let lagSeconds = "renkei_backup_lag_seconds"
        public static let lagBytes = "renkei_backup_lag_bytes"
        public static let lastShippedSeq = "renkei_backup_last_shipped_seq"
        public static let lastAckedSeq = "renkei_backup_last_acked_seq"
        public static let snapshotAgeSeconds = "renkei_backup_snapshot_age_seconds"
        public static let vaultReachable = "renkei_backup_vault_reachable"
        public static let shippedRecords = "renkei_backup_shipped_records_total"
        public static let shippedBytes = "renkei_backup_shipped_bytes_total"
        public static let snapshots = "renkei_backup_snapshots_total"
        public static let backlogDrops = "renkei_backup_backlog_drops_total"
    }

    /// - Parameters:
    ///   - factory: where the metrics go.
    ///   - node: the node's name as the `node` label; nil for no label.
    public init(factory: any MetricsFactory, node: String?) {
        let dimensions = node.map { [("node", $0)] } ?? []
        func gauge(_ label: String) -> Gauge { Gauge(label: label, dimensions: dimensions, factory: factory) }
        func counter(_ label: String) -> Counter { Counter(label: label, dimensions: dimensions, factory: factory) }
        lagSeconds = gauge(Name.lagSeconds)
        lagBytes = gauge(Name.lagBytes)
        lastShippedSeq = gauge(Name.lastShippedSeq)
        lastAckedSeq = gauge(Name.lastAckedSeq)
        snapshotAgeSeconds = gauge(Name.snapshotAgeSeconds)
        vaultReachable = gauge(Name.vaultReachable)
        shippedRecords = counter(Name.shippedRecords)
        shippedBytes = counter(Name.shippedBytes)
        snapshots = counter(Name.snapshots)
        backlogDrops = counter(Name.backlogDrops)
    }

    /// Sets every gauge from `status`.
    func publish(_ status: BackupStatus) {
        lagSeconds.record(status.lagSeconds)
        lagBytes.record(status.lagBytes)
        lastShippedSeq.record(Double(status.lastShippedSeq))
        lastAckedSeq.record(Double(status.lastAckedSeq))
        snapshotAgeSeconds.record(status.lastSnapshotAgeSeconds ?? -1)
        vaultReachable.record(status.vaultReachable ? 1 : 0)
    }

    /// Counts `records` change records of `bytes` payload bytes the vault acknowledged.
    func shipped(records: Int, bytes: Int) {
        shippedRecords.increment(by: records)
        shippedBytes.increment(by: bytes)
    }

    func snapshotCommitted() { snapshots.increment() }

    func backlogDropped() { backlogDrops.increment() }
}
