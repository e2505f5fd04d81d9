import Foundation
import GRPCCore
import Logging
import Metrics
import NIOPosix
import RenkeiStore
import RenkeiTenantStore
import RenkeiWire
import ServiceLifecycle
import Synchronization

/// What the admin API needs of the node's backup, without knowing the
/// vault connector's type.
public protocol NodeBackup: Sendable {
    /// The current state.
    func status() -> BackupStatus
    /// Takes a base snapshot now and returns once the vault committed it.
    func backupNow() async throws -> SnapshotResult
    /// Returns once the vault acknowledged change `seq` (at once in async
    /// mode); throws `.timeout` after `vault.syncTimeoutSeconds`.
    func waitUntilShipped(_ seq: UInt64) async throws
    /// Whether writes must wait for the vault (`vault.mode == .sync`).
    var isSynchronous: Bool { get }
}

/// Ships the node's change log to the vault, continuously, and takes base
/// snapshots (periodically, on demand, and whenever the vault could not
/// otherwise continue the sequence). A swift-service-lifecycle `Service`.
///
/// One Ship stream is kept open: an empty request first, the vault's
/// ShipAck names its last sequence, the shipper sends from the next (at
/// most `shipBatchRecords` records and `maxRequestPayloadBytes` per
/// request), waits for each ShipAck, then discards the acknowledged entries
/// from the node. The next request goes out when the previous one is
/// acknowledged (one in flight: the vault fsyncs each, so more would only
/// queue there). New commits wake the shipper through a commit observer.
///
/// If the vault cannot be reached the node keeps serving; the shipper
/// retries with doubling delays and logs the outage once when it starts and
/// once when it ends. What it holds back is bounded by
/// `holdBackBytesMax`: beyond it the backlog is dropped and a fresh base
/// snapshot goes first when the vault is back (logged, and in the status).
///
/// A node with nothing to ship still takes its periodic snapshot: the idle
/// wait for the next commit is bounded by the time the next one is due.
///
/// Threading: the blocking calls (a batch read from the change log, the
/// synced discard after an ack, the snapshot's checkpoint, hashing and file
/// reads) run on NIO's thread pool; the gRPC calls stay async. Reads of
/// counters under a lock (`lastChangeSequence`, `changeLogBytes`) and the
/// one-entry read of `status()` stay where they are.
///
/// When the vault ends the Ship stream (its graceful shutdown), the shipper
/// treats it as a broken connection: it reconnects with backoff and goes on
/// from the vault's last sequence.
///
/// Metrics (`BackupMetrics`) go to the factory given to `init`.
///
/// Decisions come from `ShipDecision`; this type does the I/O.
public final class ChangeShipper<Connector: VaultConnector>: Service, NodeBackup, Sendable {
    public let settings: VaultSettings
    let database: Database
    let snapshotter: BaseSnapshotter
    let connector: Connector
    let logger: Logger
    let signal = CommitSignal()
    let state = Mutex(State())
    let metrics: BackupMetrics

    /// Seconds between two refreshes of the time-based gauges (lag, snapshot age).
    public static var metricsIntervalSeconds: Double { 2 }

    /// Payload bytes per ShipRequest: the contract's 4 MiB less room for
    /// the framing of up to 1,000 records. A single larger entry still goes
    /// alone (the change log keeps each entry under
    /// `ChangeEntry.maxPayloadBytes`, which fits one request).
    public static var maxRequestPayloadBytes: Int { WireLimits.maxMessageBytes - 64 * 1024 }
    /// Writers that may wait for the vault at once in sync mode.
    public static var maxWaiters: Int { 10_000 }

    struct Waiter {
        let id: UInt64
        let seq: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    struct State {
        var reachable = false
        var unreachableSinceMs: UInt64?
        var lastError: String?
        var lastShipped: UInt64 = 0
        var lastAcked: UInt64 = 0
        var vaultHasSnapshot = false
        var needsSnapshot = false
        var snapshotRequested = false
        var backlogDrops = 0
        var lastSnapshot: SnapshotResult?
        var lastSnapshotTimeMs: UInt64?
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var snapshotWaiters: [CheckedContinuation<SnapshotResult, any Error>] = []
        var stopped = false
    }

    /// - Parameters:
    ///   - database: the node's database, opened with a change log.
    ///   - directory: the node's data directory (key files, staging).
    ///   - metricsFactory: where the backup metrics go; nil for the process's
    ///     bootstrapped `MetricsSystem.factory` (a no-op until main bootstraps one).
    ///   - metricsNode: the `node` label of the metrics; nil for none.
    public init(settings: VaultSettings, database: Database, directory: NodeDirectory, connector: Connector, logger: Logger,
                metricsFactory: (any MetricsFactory)? = nil, metricsNode: String? = nil) {
        self.settings = settings
        self.database = database
        self.snapshotter = BaseSnapshotter(database: database, directory: directory)
        self.connector = connector
        self.logger = logger
        self.metrics = BackupMetrics(factory: metricsFactory ?? MetricsSystem.factory, node: metricsNode)
    }

    public var isSynchronous: Bool { settings.mode == .sync }

    // MARK: Service

    public func run() async throws {
        await snapshotter.removeStagingOffPool()
        let signal = self.signal
        let observer = database.addCommitObserver { _ in signal.notify() }
        defer {
            database.removeCommitObserver(observer)
            failAllWaiters(BackupError(.vaultUnavailable, "the node is stopping"))
        }
        publishMetrics()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.publishMetricsPeriodically() }
                await self.loop()
                group.cancelAll()
            }
        }
        publishMetrics()
    }

    /// Sets the gauges from the current status.
    func publishMetrics() {
        metrics.publish(status())
    }

    /// Refreshes the gauges every `metricsIntervalSeconds` until cancelled,
    /// so lag and snapshot age move while nothing else happens.
    private func publishMetricsPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int(Self.metricsIntervalSeconds * 1000)))
            if Task.isCancelled { return }
            publishMetrics()
        }
    }

    func loop() async {
        var attempt = 0
        while !Task.isCancelled {
            await dropBacklogIfOverLimit()
            do {
                try await connector.withVault { vault in
                    try await self.session(vault, connected: { attempt = 0 })
                }
            } catch {
                if Task.isCancelled { break }
                noteUnreachable(error)
                // An operator waiting for a snapshot hears now that the
                // vault is away, rather than when it is back.
                failSnapshotWaiters(BackupError(.vaultUnavailable, "the vault is unreachable: \(error)"))
            }
            if Task.isCancelled { break }
            // Wait before the next attempt, checking the hold-back limit
            // meanwhile (commits go on while the vault is away).
            let delay = ShipDecision.reconnectDelay(attempt: attempt, minSeconds: settings.reconnectDelaySecondsMin,
                                                    maxSeconds: settings.reconnectDelaySecondsMax)
            attempt += 1
            let until = ContinuousClock.now + .milliseconds(Int(delay * 1000))
            while ContinuousClock.now < until, !Task.isCancelled, !snapshotWanted() {
                try? await Task.sleep(until: min(until, ContinuousClock.now + .seconds(1)))
                await dropBacklogIfOverLimit()
            }
        }
    }

    private func snapshotWanted() -> Bool {
        state.withLock { $0.snapshotRequested }
    }

    /// One connection: learn the vault's state, snapshot first if the
    /// sequence cannot continue otherwise, then ship until the connection
    /// breaks or a snapshot is due (then return to take it, and go on).
    func session<T: ClientTransport>(_ vault: Renkei_Vault_V1_Vault.Client<T>, connected: () -> Void) async throws {
        var status = try await vault.status(Renkei_Vault_V1_StatusRequest())
        noteReachable(status)
        connected()
        var first = true
        while !Task.isCancelled {
            if !first { status = try await vault.status(Renkei_Vault_V1_StatusRequest()) }
            first = false
            let (needs, requested) = state.withLock { ($0.needsSnapshot, $0.snapshotRequested) }
            let decision = decide(vaultLast: max(status.lastSeq, status.latestSnapshotCoversSeq))
            if case .conflict(let reason) = decision {
                throw BackupError(.protocolViolation, reason)
            }
            if requested || needs || isSnapshotDecision(decision) || periodicSnapshotDue() {
                if case .takeSnapshot(let reason) = decision {
                    logger.notice("taking a base snapshot before shipping", metadata: ["reason": "\(reason)"])
                }
                try await takeSnapshot(vault)
                continue
            }
            try await ship(vault)
        }
    }

    private func isSnapshotDecision(_ d: ShipDecision) -> Bool {
        if case .takeSnapshot = d { return true }
        return false
    }

    private func periodicSnapshotDue() -> Bool {
        guard let due = nextPeriodicSnapshotMs() else { return false }
        return Self.nowMs() >= due
    }

    /// When the next periodic snapshot is due (unix ms); nil if snapshots
    /// are on demand only or none is known yet (the first one goes first).
    private func nextPeriodicSnapshotMs() -> UInt64? {
        let intervalMs = UInt64(max(0, settings.snapshotIntervalSeconds * 1000))
        guard intervalMs > 0 else { return nil }
        let last = state.withLock { $0.lastSnapshotTimeMs }
        guard let last else { return nil }
        return last + intervalMs
    }

    /// The instant the idle wait for a commit must end at, so an idle node
    /// still takes its periodic snapshot; nil for no bound.
    private func idleWaitDeadline() -> ContinuousClock.Instant? {
        guard let due = nextPeriodicSnapshotMs() else { return nil }
        let now = Self.nowMs()
        let waitMs = due > now ? due - now : 0
        // Capped at an hour: the wall clock may jump; waking early only
        // re-checks.
        return ContinuousClock.now + .milliseconds(Int64(min(waitMs, 3_600_000)))
    }

    func decide(vaultLast: UInt64) -> ShipDecision {
        let (hasSnapshot, needs) = state.withLock { ($0.vaultHasSnapshot, $0.needsSnapshot) }
        return ShipDecision.decide(.init(vaultLast: vaultLast, vaultHasSnapshot: hasSnapshot,
                                         nodeLast: database.lastChangeSequence,
                                         firstRetained: database.firstRetainedChangeSequence, needsSnapshot: needs))
    }

    private func takeSnapshot<T: ClientTransport>(_ vault: Renkei_Vault_V1_Vault.Client<T>) async throws {
        let (waiters, vaultHasBase) = state.withLock { s in
            s.snapshotRequested = false
            defer { s.snapshotWaiters = [] }
            return (s.snapshotWaiters, s.vaultHasSnapshot)
        }
        do {
            // Without a base in the vault the log up to now can never be
            // shipped; the snapshot must not carry it either.
            let result = try await snapshotter.take(to: vault, discardingChangeLog: !vaultHasBase)
            let woken = state.withLock { s in
                s.lastSnapshot = result
                s.lastSnapshotTimeMs = result.createdUnixMillis
                s.vaultHasSnapshot = true
                s.needsSnapshot = false
                s.lastAcked = max(s.lastAcked, result.coversSeq)
                return takeWaiters(&s)
            }
            woken.forEach { $0.continuation.resume() }
            metrics.snapshotCommitted()
            publishMetrics()
            logger.info("base snapshot committed", metadata: [
                "snapshot": "\(result.id)", "covers-seq": "\(result.coversSeq)", "files": "\(result.files)",
                "sent-files": "\(result.sentFiles)", "sent-bytes": "\(result.sentBytes)",
            ])
            for w in waiters { w.resume(returning: result) }
        } catch {
            // The requester hears of it; the request stays for the next attempt otherwise.
            for w in waiters { w.resume(throwing: error) }
            throw error
        }
    }

    /// One Ship stream. Returns (closing the stream) when a snapshot is due.
    private func ship<T: ClientTransport>(_ vault: Renkei_Vault_V1_Vault.Client<T>) async throws {
        // Acknowledgements are cumulative, so keeping only the newest
        // bounds the buffer without losing anything.
        let (acks, ackSink) = AsyncStream.makeStream(of: UInt64.self, bufferingPolicy: .bufferingNewest(8))
        // Set when the vault ends its side of the stream (its graceful
        // shutdown, or a failure): the producer may be waiting for a commit
        // then, so the signal wakes it to notice.
        let responseEnded = Flag()
        let signal = self.signal
        try await vault.ship(
            options: .defaults,
            requestProducer: { writer in
                var acksIterator = acks.makeAsyncIterator()
                try await writer.write(Renkei_Vault_V1_ShipRequest())
                guard let first = await acksIterator.next() else {
                    throw BackupError(.vaultUnavailable, "the vault closed the Ship stream before its first acknowledgement")
                }
                var vaultLast = try await self.handleAck(first, sentThrough: nil)
                while !Task.isCancelled {
                    if responseEnded.isSet {
                        throw BackupError(.vaultUnavailable, "the vault closed the Ship stream")
                    }
                    if await self.dropBacklogIfOverLimit() || self.snapshotWanted() || self.periodicSnapshotDue() { return }
                    switch self.decide(vaultLast: vaultLast) {
                    case .idle:
                        await signal.wait(until: self.idleWaitDeadline())
                        continue
                    case .takeSnapshot, .conflict:
                        return
                    case .send(let after):
                        let records: [ChangeRecord]
                        let database = self.database, batch = self.settings.shipBatchRecords
                        do {
                            records = try await NIOThreadPool.singleton.runIfActive {
                                try database.changes(after: after, maxEntries: batch, maxBytes: Self.maxRequestPayloadBytes)
                            }
                        } catch let error as StoreError where error.code == .discarded {
                            return  // dropped at the hold-back limit meanwhile: the next decision snapshots
                        }
                        guard let last = records.last else { continue }
                        var request = Renkei_Vault_V1_ShipRequest()
                        request.records = records.map { r in
                            var record = Renkei_Vault_V1_ChangeRecord()
                            record.seq = r.seq
                            record.commitTimeUnixMillis = r.commitTimeMs
                            record.payload = Data(r.payload)
                            return record
                        }
                        try await writer.write(request)
                        self.state.withLock { $0.lastShipped = max($0.lastShipped, last.seq) }
                        self.publishMetrics()
                        guard let ack = await acksIterator.next() else {
                            throw BackupError(.vaultUnavailable, "the vault closed the Ship stream")
                        }
                        vaultLast = try await self.handleAck(ack, sentThrough: last.seq)
                        self.metrics.shipped(records: records.count, bytes: records.reduce(0) { $0 + $1.payload.count })
                        self.logger.debug("changes shipped", metadata: [
                            "first-seq": "\(records[0].seq)", "last-seq": "\(last.seq)", "records": "\(records.count)",
                        ])
                    }
                }
            },
            onResponse: { response in
                defer {
                    ackSink.finish()
                    responseEnded.set()
                    signal.notify()
                }
                for try await ack in response.messages {
                    ackSink.yield(ack.lastSeq)
                }
            })
    }

    /// Records an acknowledgement, discards what it covers, wakes writers.
    /// - Returns: the vault's last sequence.
    func handleAck(_ ack: UInt64, sentThrough: UInt64?) async throws -> UInt64 {
        let nodeLast = database.lastChangeSequence
        guard ack <= nodeLast else {
            throw BackupError(.protocolViolation, "the vault acknowledged \(ack) but the node's change log ends at \(nodeLast)")
        }
        if let sentThrough, ack < sentThrough {
            throw BackupError(.protocolViolation, "the vault acknowledged \(ack) after being sent changes through \(sentThrough)")
        }
        if let through = ShipDecision.discardThrough(ack: ack, nodeLast: nodeLast, firstRetained: database.firstRetainedChangeSequence) {
            let database = self.database
            do {
                // A synced RocksDB write (an fsync): off the cooperative pool.
                try await NIOThreadPool.singleton.runIfActive { try database.discardChanges(through: through) }
            } catch {
                throw BackupError(.storage, "cannot discard acknowledged changes through \(through)", cause: error)
            }
        }
        let woken = state.withLock { s in
            s.lastAcked = max(s.lastAcked, ack)
            return takeWaiters(&s)
        }
        woken.forEach { $0.continuation.resume() }
        publishMetrics()
        return ack
    }

    /// Removes and returns the waiters the acknowledged sequence satisfies.
    private func takeWaiters(_ s: inout State) -> [Waiter] {
        let done = s.waiters.filter { $0.seq <= s.lastAcked }
        if !done.isEmpty { s.waiters.removeAll { $0.seq <= s.lastAcked } }
        return done
    }

    /// Drops the whole backlog if it is over the hold-back limit.
    /// - Returns: whether it did.
    @discardableResult
    func dropBacklogIfOverLimit() async -> Bool {
        let bytes = database.changeLogBytes
        guard ShipDecision.mustDropBacklog(changeLogBytes: bytes, holdBackBytesMax: settings.holdBackBytesMax) else { return false }
        let database = self.database
        let last = database.lastChangeSequence
        do {
            try await NIOThreadPool.singleton.runIfActive { try database.discardChanges(through: last) }
        } catch {
            logger.error("cannot drop the change log backlog", metadata: ["error": "\(error)"])
            return false
        }
        state.withLock { s in
            s.needsSnapshot = true
            s.backlogDrops += 1
        }
        metrics.backlogDropped()
        publishMetrics()
        logger.warning("change log over the hold-back limit: backlog dropped, a base snapshot goes to the vault first when it is back", metadata: [
            "bytes": "\(bytes)", "limit": "\(settings.holdBackBytesMax)", "dropped-through-seq": "\(last)",
        ])
        return true
    }

    private func noteReachable(_ status: Renkei_Vault_V1_StatusResponse) {
        let (was, since) = state.withLock { s -> (Bool, UInt64?) in
            let before = (s.reachable, s.unreachableSinceMs)
            s.reachable = true
            s.unreachableSinceMs = nil
            s.lastError = nil
            s.lastAcked = max(s.lastAcked, max(status.lastSeq, status.latestSnapshotCoversSeq))
            s.vaultHasSnapshot = !status.latestSnapshotID.isEmpty
            if !status.latestSnapshotID.isEmpty, s.lastSnapshot == nil {
                s.lastSnapshot = SnapshotResult(id: status.latestSnapshotID, coversSeq: status.latestSnapshotCoversSeq,
                                                createdUnixMillis: status.latestSnapshotCreatedUnixMillis, files: 0, sentFiles: 0, sentBytes: 0)
                s.lastSnapshotTimeMs = status.latestSnapshotCreatedUnixMillis
            }
            return before
        }
        publishMetrics()
        if !was {
            var metadata: Logger.Metadata = ["vault-last-seq": "\(status.lastSeq)"]
            if let since { metadata["outage-seconds"] = "\(Double(Self.nowMs() - since) / 1000)" }
            logger.notice("vault reachable", metadata: metadata)
        }
    }

    private func noteUnreachable(_ error: any Error) {
        let message = "\(error)"
        let first = state.withLock { s -> Bool in
            let first = s.reachable || s.unreachableSinceMs == nil
            s.reachable = false
            if s.unreachableSinceMs == nil { s.unreachableSinceMs = Self.nowMs() }
            s.lastError = message
            return first
        }
        publishMetrics()
        // Once per outage, not per retry.
        if first {
            logger.warning("vault unreachable; the node keeps serving and holds changes back", metadata: [
                "vault": "\(settings.host):\(settings.port)", "error": "\(message)",
            ])
        }
    }

    private func failSnapshotWaiters(_ error: BackupError) {
        let waiters = state.withLock { s in
            s.snapshotRequested = false
            defer { s.snapshotWaiters = [] }
            return s.snapshotWaiters
        }
        waiters.forEach { $0.resume(throwing: error) }
    }

    private func failAllWaiters(_ error: BackupError) {
        let (waiters, snapshots) = state.withLock { s in
            s.stopped = true
            defer { s.waiters = []; s.snapshotWaiters = [] }
            return (s.waiters, s.snapshotWaiters)
        }
        waiters.forEach { $0.continuation.resume(throwing: error) }
        snapshots.forEach { $0.resume(throwing: error) }
    }

    static func nowMs() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    // MARK: NodeBackup

    public func status() -> BackupStatus {
        let s = state.withLock { s in
            (s.reachable, s.unreachableSinceMs, s.lastError, s.lastShipped, s.lastAcked, s.needsSnapshot, s.backlogDrops,
             s.lastSnapshot, s.lastSnapshotTimeMs)
        }
        let now = Self.nowMs()
        var lag = 0.0
        if let first = database.firstRetainedChangeSequence,
           let oldest = try? database.changes(after: max(s.4, first - 1), maxEntries: 1, maxBytes: 0).first {
            lag = Double(now > oldest.commitTimeMs ? now - oldest.commitTimeMs : 0) / 1000
        }
        return BackupStatus(
            mode: settings.mode, vault: "\(settings.host):\(settings.port)", vaultReachable: s.0,
            unreachableSinceUnixMillis: s.1, lastError: s.2, lastChangeSeq: database.lastChangeSequence,
            lastShippedSeq: s.3, lastAckedSeq: s.4, lagSeconds: lag, lagBytes: database.changeLogBytes,
            holdBackBytesMax: settings.holdBackBytesMax, needsSnapshot: s.5, backlogDrops: s.6,
            lastSnapshotID: s.7?.id, lastSnapshotCoversSeq: s.7?.coversSeq,
            lastSnapshotAgeSeconds: s.8.map { Double(now > $0 ? now - $0 : 0) / 1000 })
    }

    public func backupNow() async throws -> SnapshotResult {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<SnapshotResult, any Error>) in
            let accepted = state.withLock { s -> Bool in
                guard !s.stopped, s.snapshotWaiters.count < 64 else { return false }
                s.snapshotWaiters.append(c)
                s.snapshotRequested = true
                return true
            }
            guard accepted else {
                c.resume(throwing: BackupError(.overloaded, "the shipper is stopped or has too many snapshot requests waiting"))
                return
            }
            signal.notify()
        }
    }

    public func waitUntilShipped(_ seq: UInt64) async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiterID += 1
            return s.nextWaiterID
        }
        let timeout = settings.syncTimeoutSeconds
        // The timer and a cancelled caller both end the wait through
        // `endWait`, which resumes the waiter at most once.
        let timer = Task {
            try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
            let (reachable, error) = self.state.withLock { ($0.reachable, $0.lastError) }
            self.endWait(id, BackupError(
                .timeout, "the vault has not acknowledged change \(seq) within \(timeout) s"
                    + (reachable ? "" : " (vault unreachable: \(error ?? "not yet connected"))")))
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { s -> Result<Bool, BackupError> in
                    if s.lastAcked >= seq { return .success(true) }
                    if s.stopped { return .failure(BackupError(.vaultUnavailable, "the shipper is stopped")) }
                    guard s.waiters.count < Self.maxWaiters else {
                        return .failure(BackupError(.overloaded, "\(Self.maxWaiters) writes already wait for the vault"))
                    }
                    s.waiters.append(Waiter(id: id, seq: seq, continuation: c))
                    return .success(false)
                }
                switch outcome {
                case .success(true): c.resume()
                case .success(false): break
                case .failure(let error): c.resume(throwing: error)
                }
            }
        } onCancel: {
            self.endWait(id, BackupError(.timeout, "the wait for the vault to acknowledge change \(seq) was cancelled"))
        }
    }

    /// Resumes waiter `id` with `error` if it still waits.
    private func endWait(_ id: UInt64, _ error: BackupError) {
        let waiter = state.withLock { s -> Waiter? in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i)
        }
        waiter?.continuation.resume(throwing: error)
    }
}

/// A flag set once, shared between the two sides of a stream.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
