import RenkeiCore
import Synchronization

/// The fairness rules of the bulk path as a pure value: streams per
/// requester, a token bucket of items per second per requester, and workers
/// shared by all streams. Time is passed in (nanoseconds on a monotonic
/// clock), so every decision is testable without sleeping.
public struct BulkLimiterState: Sendable, Equatable {
    public let streamsPerRequester: Int
    public let itemsPerSecond: Int
    public let workers: Int

    public private(set) var streams: [MunicipalityCode: Int] = [:]
    public private(set) var buckets: [MunicipalityCode: Bucket] = [:]
    public private(set) var busyWorkers = 0

    /// Tokens of one requester and when they were last refilled.
    public struct Bucket: Sendable, Equatable {
        public var tokens: Double
        public var updatedNanos: UInt64
    }

    /// What a batch of items does now.
    public enum Admission: Sendable, Equatable {
        /// Go: the tokens are taken.
        case proceed
        /// Ask again after this many nanoseconds; nothing was taken.
        case wait(nanos: UInt64)
    }

    public init(streamsPerRequester: Int, itemsPerSecond: Int, workers: Int) {
        precondition(streamsPerRequester > 0 && itemsPerSecond > 0 && workers > 0)
        self.streamsPerRequester = streamsPerRequester
        self.itemsPerSecond = itemsPerSecond
        self.workers = workers
    }

    /// Opens a stream for `requester`; false if it already has the maximum.
    public mutating func openStream(_ requester: MunicipalityCode) -> Bool {
        let open = streams[requester, default: 0]
        guard open < streamsPerRequester else { return false }
        streams[requester] = open + 1
        return true
    }

    /// Closes a stream opened with `openStream`.
    public mutating func closeStream(_ requester: MunicipalityCode) {
        let open = streams[requester, default: 0]
        precondition(open > 0, "closing a stream that was not open")
        streams[requester] = open == 1 ? nil : open - 1
    }

    /// The token bucket: one second of tokens at most. A batch goes when the
    /// bucket holds as many tokens as it has items, or is full (a batch
    /// bigger than a second's worth then leaves the bucket in debt, so the
    /// rate holds over time). Otherwise it waits until that is true.
    public mutating func admit(_ requester: MunicipalityCode, items: Int, nowNanos: UInt64) -> Admission {
        let capacity = Double(itemsPerSecond)
        var bucket = buckets[requester] ?? Bucket(tokens: capacity, updatedNanos: nowNanos)
        let elapsed = nowNanos >= bucket.updatedNanos ? nowNanos - bucket.updatedNanos : 0
        bucket.tokens = min(capacity, bucket.tokens + Double(elapsed) * capacity / 1e9)
        bucket.updatedNanos = max(bucket.updatedNanos, nowNanos)
        let needed = min(Double(items), capacity)
        if bucket.tokens >= needed {
            bucket.tokens -= Double(items)
            buckets[requester] = bucket
            return .proceed
        }
        buckets[requester] = bucket
        let nanos = ((needed - bucket.tokens) / capacity * 1e9).rounded(.up)
        return .wait(nanos: max(1, UInt64(nanos)))
    }

    /// Takes a worker; false if all are busy.
    public mutating func takeWorker() -> Bool {
        guard busyWorkers < workers else { return false }
        busyWorkers += 1
        return true
    }

    /// Gives back a worker taken with `takeWorker`.
    public mutating func releaseWorker() {
        precondition(busyWorkers > 0, "releasing a worker that was not taken")
        busyWorkers -= 1
    }
}

/// The node-wide shell around `BulkLimiterState`: one per server, shared by
/// every InquireBulk stream. Waiting batches sleep (rate) or queue
/// (workers); both waits end early when the task is cancelled.
public final class BulkLimiter: Sendable {
    private let state: Mutex<State>
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    private struct State {
        var limits: BulkLimiterState
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter: UInt64 = 0
        var cancelledWaiters: Set<UInt64> = []
    }

    public init(_ limits: NodeConfig.Limits) {
        state = Mutex(State(limits: BulkLimiterState(
            streamsPerRequester: max(1, limits.bulkStreamsPerRequester),
            itemsPerSecond: max(1, limits.bulkItemsPerSecondPerRequester),
            workers: max(1, limits.bulkWorkers))))
        origin = clock.now
    }

    /// A snapshot of the limiter's state.
    public var snapshot: BulkLimiterState { state.withLock { $0.limits } }

    private var nowNanos: UInt64 {
        let d = clock.now - origin
        return UInt64(d.components.seconds) * 1_000_000_000 + UInt64(d.components.attoseconds / 1_000_000_000)
    }

    /// Opens a stream for `requester`; false if it already has its maximum.
    public func openStream(_ requester: MunicipalityCode) -> Bool { state.withLock { $0.limits.openStream(requester) } }

    /// Closes a stream opened with `openStream`.
    public func closeStream(_ requester: MunicipalityCode) { state.withLock { $0.limits.closeStream(requester) } }

    /// Waits until `requester`'s rate admits `items` items.
    public func admit(_ requester: MunicipalityCode, items: Int) async throws {
        while true {
            let now = nowNanos
            switch state.withLock({ $0.limits.admit(requester, items: items, nowNanos: now) }) {
            case .proceed: return
            case .wait(let nanos): try await Task.sleep(for: .nanoseconds(Int64(clamping: nanos)))
            }
        }
    }

    /// Runs `body` holding one of the node's bulk workers.
    public func withWorker<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await takeWorker()
        defer { releaseWorker() }
        return try await body()
    }

    private func takeWorker() async throws {
        if state.withLock({ $0.limits.takeWorker() }) { return }
        let id = state.withLock { s in s.nextWaiter += 1; return s.nextWaiter }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case go, cancelled, queued }
                let now: Now = state.withLock { s in
                    // The cancellation handler may have run before this.
                    if s.cancelledWaiters.remove(id) != nil { return .cancelled }
                    // A worker may have come free since the first try.
                    if s.limits.takeWorker() { return .go }
                    s.waiting.append((id, continuation))
                    return .queued
                }
                switch now {
                case .go: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .queued: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard let i = s.waiting.firstIndex(where: { $0.id == id }) else {
                    s.cancelledWaiters.insert(id)
                    return nil
                }
                return s.waiting.remove(at: i).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
        // Cancelled after the worker was handed over: the handler left a
        // mark nobody will read.
        state.withLock { _ = $0.cancelledWaiters.remove(id) }
    }

    /// Hands the worker to the first waiter, or frees it.
    private func releaseWorker() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if s.waiting.isEmpty {
                s.limits.releaseWorker()
                return nil
            }
            return s.waiting.removeFirst().continuation
        }
        next?.resume()
    }
}
