import Foundation
import Logging
import Metrics
import NIOPosix
import RenkeiCore
import RenkeiObservability
import RenkeiTenantStore
import ServiceLifecycle

/// How fast a node re-seals records after a tenant data-key rotation (`keys`
/// in the node configuration). Every key is optional.
public struct KeySettings: Sendable, Codable, Equatable {
    /// Records re-sealed per step: one atomic write, made under the tenant's
    /// write lock (imports wait for it), so small enough to keep that short.
    public var reencryptBatchRecords: Int
    /// Pause between steps, so re-encryption leaves room for the node's
    /// real work and for the backup shipper to keep up with the new ciphertext.
    public var reencryptPauseMilliseconds: Int
    /// A progress line in the node log every this many steps.
    public var reencryptProgressLogBatches: Int

    public init(reencryptBatchRecords: Int = 500, reencryptPauseMilliseconds: Int = 10, reencryptProgressLogBatches: Int = 100) {
        self.reencryptBatchRecords = reencryptBatchRecords
        self.reencryptPauseMilliseconds = reencryptPauseMilliseconds
        self.reencryptProgressLogBatches = reencryptProgressLogBatches
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = KeySettings()
        reencryptBatchRecords = try c.decodeIfPresent(Int.self, forKey: .reencryptBatchRecords) ?? d.reencryptBatchRecords
        reencryptPauseMilliseconds = try c.decodeIfPresent(Int.self, forKey: .reencryptPauseMilliseconds) ?? d.reencryptPauseMilliseconds
        reencryptProgressLogBatches = try c.decodeIfPresent(Int.self, forKey: .reencryptProgressLogBatches) ?? d.reencryptProgressLogBatches
    }

    /// The first rule broken, naming the key; nil if all hold.
    public func brokenRule() -> String? {
        if !(1...TenantPartition.maxBatchRows).contains(reencryptBatchRecords) {
            return "keys.reencryptBatchRecords: must be 1 to \(TenantPartition.maxBatchRows)"
        }
        if !(0...60_000).contains(reencryptPauseMilliseconds) { return "keys.reencryptPauseMilliseconds: must be 0 to 60000" }
        if !(1...1_000_000).contains(reencryptProgressLogBatches) { return "keys.reencryptProgressLogBatches: must be 1 to 1000000" }
        return nil
    }
}

/// Re-seals, in the background, the records of every tenant whose data key
/// was rotated, until each is at its current version: resumes unfinished
/// work at start (the marker in the node metadata survives a crash), picks
/// up new rotations within `idlePollSeconds`, paces itself with
/// `KeySettings`, and stops between steps on graceful shutdown (a step is
/// one atomic write, so stopping never leaves half a step).
///
/// Publishes `renkei_reencryption_records_remaining{tenant}` (label: the
/// municipality code only): records not yet at the current version, counted
/// from envelope headers when work on a tenant starts, then decreased by each
/// step; 0 when done.
public struct TenantReencrypter: Service {
    let store: NodeStore
    let settings: KeySettings
    let logger: Logger
    let idlePollSeconds: Double
    /// After a failed step: wait this long before trying again.
    let retrySeconds: Double

    public init(store: NodeStore, settings: KeySettings, logger: Logger, idlePollSeconds: Double = 2, retrySeconds: Double = 10) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.idlePollSeconds = idlePollSeconds
        self.retrySeconds = retrySeconds
    }

    static let gaugeLabel = "renkei_reencryption_records_remaining"

    /// Per tenant in progress: its gauge, records left, steps done.
    struct Work {
        var remaining: Int
        var steps = 0
        var resealed = 0
    }

    public func run() async throws {
        var gauges: [MunicipalityCode: Gauge] = [:]
        func gauge(_ code: MunicipalityCode) -> Gauge {
            if let g = gauges[code] { return g }
            let g = Gauge(label: Self.gaugeLabel, dimensions: [("tenant", MetricLabels.bounded(code.rawValue))])
            gauges[code] = g
            return g
        }
        for tenant in store.tenants { gauge(tenant.code).record(0) }
        var work: [MunicipalityCode: Work] = [:]
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let pending: [MunicipalityCode]
            do throws(NodeError) {
                pending = try store.pendingReencryptions()
            } catch {
                logger.error("cannot read the pending re-encryptions", metadata: ["error": "\(error)"])
                try? await pause(seconds: retrySeconds)
                continue
            }
            // A tenant deleted mid-way has no marker any more.
            for code in work.keys where !pending.contains(code) {
                work[code] = nil
                gauge(code).record(0)
            }
            guard !pending.isEmpty else {
                try? await pause(seconds: idlePollSeconds)
                continue
            }
            var failed = false
            for code in pending {
                if Task.isShuttingDownGracefully { break }
                do {
                    if work[code] == nil {
                        let status = try await offload { () throws(NodeError) -> TenantKeyStatus in try store.keyStatus(code) }
                        work[code] = Work(remaining: status.recordsRemaining)
                        gauge(code).record(status.recordsRemaining)
                        logger.notice("re-encrypting tenant records with the current data key", metadata: [
                            "tenant": "\(code)", "version": "\(status.currentVersion)",
                            "remaining": "\(status.recordsRemaining)", "total": "\(status.recordsTotal)",
                            "resealed-before": "\(status.reencryption?.resealed ?? 0)",
                        ])
                    }
                    let batch = settings.reencryptBatchRecords
                    let step = try await offload { () throws(NodeError) -> ReencryptionStep in try store.reencryptStep(code, maxRecords: batch) }
                    var w = work[code]!
                    w.steps += 1
                    w.resealed += step.resealed
                    w.remaining = max(0, w.remaining - step.resealed)
                    if step.finished {
                        work[code] = nil
                        gauge(code).record(0)
                        logger.notice("tenant re-encryption finished", metadata: [
                            "tenant": "\(code)", "version": "\(step.targetVersion)", "resealed": "\(w.resealed)",
                        ])
                    } else {
                        work[code] = w
                        gauge(code).record(w.remaining)
                        if w.steps % settings.reencryptProgressLogBatches == 0 {
                            logger.info("re-encryption progress", metadata: [
                                "tenant": "\(code)", "version": "\(step.targetVersion)",
                                "resealed": "\(w.resealed)", "remaining": "\(w.remaining)",
                            ])
                        }
                    }
                } catch {
                    // One tenant's failure (a damaged record, a full disk)
                    // must not stop the node; it is retried later.
                    logger.error("re-encryption step failed; retrying later", metadata: ["tenant": "\(code)", "error": "\(error)"])
                    work[code] = nil
                    failed = true
                }
            }
            try? await pause(seconds: failed ? retrySeconds : Double(settings.reencryptPauseMilliseconds) / 1000)
        }
        logger.info("re-encrypter stopped", metadata: ["tenants-in-progress": "\(work.count)"])
    }

    /// Blocking store work (RocksDB reads, AES-GCM, a synced write) off the
    /// concurrency pool.
    private func offload<T: Sendable>(_ body: @escaping @Sendable () throws(NodeError) -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive { () throws -> T in
            do throws(NodeError) { return try body() } catch { throw error }
        }
    }

    /// Sleeps, returning early (by throwing) on cancellation or graceful shutdown.
    private func pause(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        }
    }
}
