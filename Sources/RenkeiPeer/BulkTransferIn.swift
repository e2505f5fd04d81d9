import Foundation
import GRPCCore
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiPKI
import RenkeiTenantStore
import RenkeiWire
import Synchronization

/// How a bulk transfer-in runs. Defaults suit a municipal node.
public struct BulkTransferInOptions: Sendable {
    /// Per provider: batch size, streams, in-flight batches, purpose, consent.
    public var client: BulkInquiryOptions
    /// Tries per provider before its remaining rows become UNREACHABLE (1 or more).
    public var attempts: Int
    /// Wait before the second try; doubled before each further one.
    public var retryBase: Duration
    /// Providers asked at the same time.
    public var concurrentProviders: Int

    public init(client: BulkInquiryOptions = BulkInquiryOptions(), attempts: Int = 4,
                retryBase: Duration = .milliseconds(500), concurrentProviders: Int = 4) {
        self.client = client
        self.attempts = max(attempts, 1)
        self.retryBase = retryBase
        self.concurrentProviders = max(concurrentProviders, 1)
    }

    /// The wait before try `attempt` (2, 3, …): base × 2^(attempt−2).
    public func backoff(beforeAttempt attempt: Int) -> Duration {
        retryBase * (1 << max(0, min(attempt - 2, 20)))
    }
}

/// Rows settled together: the locally settled rows, one provider batch, or
/// a provider's rows given up on.
public struct BulkSettlement: Sendable {
    public let results: [BulkRowResult]
    /// For a provider batch: its round trip.
    public let batchLatency: Duration?

    public init(results: [BulkRowResult], batchLatency: Duration?) {
        self.results = results
        self.batchLatency = batchLatency
    }
}

/// What a bulk run did, in numbers.
public struct BulkRunSummary: Sendable {
    /// Provider batches completed.
    public var batches = 0
    /// Their round trips, in completion order.
    public var latencies: [Duration] = []
}

/// 転入 in bulk: the counterpart of `TransferIn` for many rows. Validates
/// every row locally (a bad check digit is never sent), groups the rest by
/// the provider node the signed directory names, asks the providers
/// concurrently with `BulkInquiryClient`, retries an unreachable provider
/// with exponential backoff and then settles its rows UNREACHABLE while the
/// others complete. Every MATCH is stored in the requester's tenant (one
/// synced write per batch) and every provider batch gets one audit entry in
/// the requester tenant's log, with counts only.
///
/// Used by the admin endpoint of a running node and by the CLI when no node
/// runs.
public struct BulkTransferIn: Sendable {
    let store: NodeStore
    let config: NodeConfig
    let trust: TrustSource
    let logger: Logger

    public init(store: NodeStore, config: NodeConfig, trust: TrustSource, logger: Logger) {
        self.store = store
        self.config = config
        self.trust = trust
        self.logger = logger
    }

    /// Runs `rows` as `requester`. `onSettled` gets every row exactly once
    /// (called from several tasks; it must serialize what it shares), after
    /// the batch's matches are stored and its audit entry written.
    ///
    /// - Throws: `.invalidInput` (requester not hosted), `.directory` (no
    ///   valid directory: nothing sent), `.storage` (a store or audit write
    ///   failed: the run stops), or what `onSettled` throws.
    public func run(
        _ rows: [BulkRow], requester: MunicipalityCode, options: BulkTransferInOptions = BulkTransferInOptions(),
        receivedOn: LocalDate = .todayInJapan(),
        onSettled: @escaping @Sendable (BulkSettlement) async throws(PeerError) -> Void
    ) async throws(PeerError) -> BulkRunSummary {
        let tenant: TenantPartition
        let audit: AuditLog
        do throws(NodeError) {
            tenant = try store.tenant(requester)
            audit = try store.auditLog(requester)
        } catch {
            throw PeerError(.invalidInput, "this node does not host municipality \(requester), so it cannot ask as it; nothing was sent")
        }
        do throws(BrokenRule) {
            try InquiryRules.checkConsentReference(options.client.consentReference, field: "consent_reference")
        } catch {
            throw PeerError(.invalidInput, error.message)
        }
        let directory = try trust.directory()
        let plan = BulkRequestPlan.make(rows) { directory.entry(for: $0) }
        if !plan.settled.isEmpty {
            try await onSettled(BulkSettlement(results: plan.settled, batchLatency: nil))
        }
        let summary = Locked(BulkRunSummary())
        let context = RunContext(tenant: tenant, audit: audit, requester: requester, receivedOn: receivedOn,
                                 options: options, onSettled: onSettled, summary: summary)
        let peerTrust = trust.peerTrust()
        let failure = Locked<PeerError?>(nil)
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for provider in plan.groups {
                if running == options.concurrentProviders {
                    await group.next()
                    running -= 1
                }
                group.addTask {
                    do throws(PeerError) {
                        try await runProvider(provider, context: context, trust: peerTrust)
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                    }
                }
                running += 1
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return summary.withLock { $0 }
    }

    /// What every provider run shares.
    struct RunContext: Sendable {
        let tenant: TenantPartition
        let audit: AuditLog
        let requester: MunicipalityCode
        let receivedOn: LocalDate
        let options: BulkTransferInOptions
        let onSettled: @Sendable (BulkSettlement) async throws(PeerError) -> Void
        let summary: Locked<BulkRunSummary>
    }

    /// One provider node: tries until its items are answered or the tries
    /// are spent; throws only what must stop the whole run.
    func runProvider(_ provider: BulkProviderGroup, context: RunContext, trust: PeerTrust) async throws(PeerError) {
        let done = Locked<Set<Int>>([])
        var lastError: PeerError?
        for attempt in 1...context.options.attempts {
            let remaining = done.withLock { done in provider.items.filter { !done.contains($0.index) } }
            if remaining.isEmpty { return }
            if attempt > 1 {
                do {
                    try await Task.sleep(for: context.options.backoff(beforeAttempt: attempt))
                } catch {
                    return  // the run is being cancelled
                }
            }
            do throws(PeerError) {
                try await BulkInquiryClient.run(remaining, requester: context.requester, entry: provider.entry, targets: provider.targets,
                                                config: config, trust: trust, options: context.options.client) { answer in
                    try await settle(answer, provider: provider, context: context)
                    done.withLock { $0.formUnion(answer.answers.map(\.item.index)) }
                }
                return
            } catch {
                // Failures of our own side stop the run; the provider's are its rows' fate.
                if error.code == .storage { throw error }
                lastError = error
                logger.notice("bulk inquiry to a provider failed", metadata: [
                    "node": "\(provider.entry.nodeName)", "attempt": "\(attempt)", "error": "\(error.code.rawValue)"])
                if !Self.retryable(error) { break }
            }
        }
        let left = done.withLock { done in provider.items.filter { !done.contains($0.index) } }
        guard !left.isEmpty, let lastError else { return }
        let reason = Self.unreachableReason(lastError, node: provider.entry.nodeName, attempts: context.options.attempts)
        try await context.onSettled(BulkSettlement(results: left.map { BulkRowResult(index: $0.index, outcome: .unreachable, reason: reason) },
                                                   batchLatency: nil))
    }

    /// Whether another try can help: a connection or the provider's status,
    /// not a misrouted server, bad local material or a broken contract.
    static func retryable(_ error: PeerError) -> Bool {
        switch error.code {
        case .connection, .rpc: true
        default: false
        }
    }

    /// The results file's reason for rows of a provider given up on. Names
    /// the node and the failure kind, never a value from a row.
    static func unreachableReason(_ error: PeerError, node: String, attempts: Int) -> String {
        switch error.code {
        case .misrouted: "node \(node): its certificate does not match the directory or carry the codes (nothing sent)"
        case .protocolViolation: "node \(node): its answer broke the contract (\(error.message))"
        case .connection: "node \(node): unreachable after \(attempts) attempt(s)"
        case .rpc: "node \(node): failed the stream after \(attempts) attempt(s) (\((error.cause as? RPCError).map { "\($0.code)" } ?? "error"))"
        default: "node \(node): \(error.code.rawValue)"
        }
    }

    /// Stores a batch's matches, audits the batch, then hands its rows on.
    func settle(_ answer: BulkBatchAnswer, provider: BulkProviderGroup, context: RunContext) async throws(PeerError) {
        var results: [BulkRowResult] = []
        results.reserveCapacity(answer.answers.count)
        var files: [ReceivedFile] = []
        var fileRows: [Int] = []  // position in `results` of each file's row
        var counts = (match: 0, noMatch: 0, invalid: 0, refused: 0)
        for a in answer.answers {
            switch a.result.outcome {
            case .match:
                do throws(ReceivedFileError) {
                    let file = try RecordMapping.receivedFile(a.result.match, source: a.item.target, requestID: answer.batchID,
                                                              number: a.item.number, receivedOn: context.receivedOn)
                    fileRows.append(results.count)
                    files.append(file)
                    results.append(BulkRowResult(index: a.item.index, outcome: .match, doses: file.doses.count))
                    counts.match += 1
                } catch {
                    counts.refused += 1
                    results.append(BulkRowResult(index: a.item.index, outcome: .unreachable,
                                                 reason: "node \(provider.entry.nodeName): its file breaks a record rule (\(error.message)); not stored"))
                }
            case .invalid:
                counts.invalid += 1
                let field = a.result.invalidField.isEmpty ? "item: rejected by the provider" : a.result.invalidField
                results.append(BulkRowResult(index: a.item.index, outcome: .invalid, reason: Self.clean(field)))
            default:
                counts.noMatch += 1
                results.append(BulkRowResult(index: a.item.index, outcome: .noMatch))
            }
        }
        var stored = (stored: 0, replaced: 0, unchanged: 0, conflicts: 0)
        if !files.isEmpty {
            let outcomes: [Result<ReceivedStoreOutcome, NodeError>]
            do throws(NodeError) {
                outcomes = try context.tenant.storeReceivedFiles(files)
            } catch {
                logger.error("storing received files failed", metadata: ["requester": "\(context.requester)", "error": "\(error.code)"])
                try record(context.audit, AuditRecord(event: .bulkSent, outcome: .error, requestID: answer.batchID,
                                                      requesterCode: context.requester, peerCertificateSHA256: provider.entry.spkiSHA256,
                                                      detail: "node \(provider.entry.nodeName); items \(answer.answers.count); store failed"))
                throw PeerError(.storage, "received files could not be stored: \(error.message)", cause: error)
            }
            for (position, outcome) in zip(fileRows, outcomes) {
                switch outcome {
                case .success(let o):
                    switch o.storage {
                    case .stored: stored.stored += 1
                    case .replaced: stored.replaced += 1
                    case .unchanged: stored.unchanged += 1
                    }
                case .failure:
                    stored.conflicts += 1
                    results[position] = BulkRowResult(index: results[position].index, outcome: .unreachable,
                                                      reason: "received but not stored: the resident's recorded moves conflict with this 転入")
                }
            }
        }
        let ms = Int((Double(answer.latency.components.seconds) + Double(answer.latency.components.attoseconds) / 1e18) * 1000)
        let target = provider.targets.count == 1 ? provider.targets[0] : nil
        try record(context.audit, AuditRecord(
            event: .bulkSent, outcome: AuditOutcome(rawValue: "answered"), requestID: answer.batchID,
            requesterCode: context.requester, targetCode: target, peerCertificateSHA256: provider.entry.spkiSHA256,
            detail: "node \(provider.entry.nodeName); items \(answer.answers.count); match \(counts.match); no-match \(counts.noMatch); "
                + "invalid \(counts.invalid); refused \(counts.refused); stored \(stored.stored); replaced \(stored.replaced); "
                + "unchanged \(stored.unchanged); conflicts \(stored.conflicts); ms \(ms)"))
        context.summary.withLock {
            $0.batches += 1
            $0.latencies.append(answer.latency)
        }
        try await context.onSettled(BulkSettlement(results: results, batchLatency: answer.latency))
    }

    /// A provider's INVALID reason, kept to one line of bounded length (it
    /// goes into a CSV cell and a journal line).
    static func clean(_ text: String) -> String {
        let flat = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return flat.count > 200 ? String(flat.prefix(200)) : flat
    }

    private func record(_ log: AuditLog, _ record: AuditRecord) throws(PeerError) {
        do throws(AuditError) {
            _ = try log.append(record)
        } catch {
            logger.critical("audit append failed", metadata: ["event": "\(record.event.rawValue)", "error": "\(error.code.rawValue)"])
            throw PeerError(.storage, "the audit log could not be written: \(error.message)", cause: error)
        }
    }
}

/// A value shared between tasks behind a lock.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
