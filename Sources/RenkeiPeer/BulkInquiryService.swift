import Foundation
import GRPCCore
import Logging
import Metrics
import NIOPosix
import RenkeiAudit
import RenkeiCore
import RenkeiObservability
import RenkeiPKI
import RenkeiTenantStore
import RenkeiWire
import SwiftProtobuf
import Synchronization

/// The provider side of `renkei.v1.TransferInquiry/InquireBulk`: a thin shell
/// that reads batches, asks `BulkBatchDecision` and `BulkPlan` what to do,
/// reads each hosted tenant once per batch, audits, and writes the padded
/// responses.
///
/// Batches of one stream are processed concurrently (at most 8 in flight, the
/// contract's limit) while the next requests are read; the node-wide
/// `BulkLimiter` bounds streams and items per second per requester and the
/// batches processed at once, so a bulk run leaves CPU for single inquiries.
/// Logs and audit entries carry batch IDs, codes and counts, never a number.
public struct BulkInquiryService: Sendable {
    let store: NodeStore
    let logger: Logger
    let metrics: PeerMetrics
    let limiter: BulkLimiter
    let maxMessageBytes: Int

    public init(store: NodeStore, logger: Logger, metrics: PeerMetrics, limiter: BulkLimiter,
                maxMessageBytes: Int = WireLimits.maxMessageBytes) {
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.limiter = limiter
        self.maxMessageBytes = maxMessageBytes
    }

    /// One stream's state behind a lock: the reader admits batches, the
    /// writer completes them.
    final class StreamShell: Sendable {
        let state = Mutex<BulkStreamState>(BulkStreamState())
        /// Requesters this stream holds a limiter slot for.
        let opened = Mutex<Set<MunicipalityCode>>([])
    }

    /// Serves one InquireBulk stream until the requester half-closes and every
    /// batch is complete, or a rule fails the stream (thrown as `RPCError`).
    public func serve(
        request: RPCAsyncSequence<Renkei_V1_BulkInquiryRequest, any Error>,
        response: RPCWriter<Renkei_V1_BulkInquiryResponse>,
        context: ServerContext
    ) async throws {
        let client = TransferInquiryService.clientIdentity(context)
        let codes = client?.municipalityCodes ?? []
        let shell = StreamShell()
        defer {
            for requester in shell.opened.withLock({ $0 }) { limiter.closeStream(requester) }
        }
        // Unbounded, but never holds more than 8 batches' responses: a batch
        // is in flight until its responses are written.
        let (outbound, continuation) = AsyncStream.makeStream(of: [Renkei_V1_BulkInquiryResponse].self)
        defer { continuation.finish() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { streamGroup in
                streamGroup.addTask {
                    for await responses in outbound {
                        for (i, r) in responses.enumerated() {
                            if i == responses.count - 1 { shell.state.withLock { $0.complete() } }
                            try await response.write(r)
                        }
                    }
                }
                try await withThrowingTaskGroup(of: Void.self) { batches in
                    for try await message in request {
                        let batch = try admit(message, codes: codes, client: client, shell: shell)
                        let items = message.items
                        batches.addTask {
                            let responses = try await answer(batch, items: items, client: client)
                            continuation.yield(responses)
                        }
                    }
                    try await batches.waitForAll()
                }
                continuation.finish()
                try await streamGroup.waitForAll()
            }
        } catch let error as RPCError {
            metrics.update { $0.bulkRefusedStreams += 1 }
            throw error
        }
    }

    /// Checks one request at the stream level; throws the status that fails
    /// the stream, or returns the accepted batch.
    func admit(_ message: Renkei_V1_BulkInquiryRequest, codes: [MunicipalityCode], client: PeerCertificateInfo?,
               shell: StreamShell) throws(RPCError) -> ValidatedBatch {
        // Before anything else (ADR 0004): the transport lets up to twice the
        // limit through so that this answer is the contract's status.
        let size = (try? message.serializedBytes() as [UInt8])?.count ?? Int.max
        guard size <= maxMessageBytes else {
            logger.notice("bulk stream refused", metadata: ["bytes": "\(size)", "outcome": "resource-exhausted"])
            throw RPCError(code: .resourceExhausted, message: "BulkInquiryRequest: is \(size) bytes, over the limit of \(maxMessageBytes) bytes")
        }
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let decision = shell.state.withLock {
            BulkBatchDecision.decide(message, certificateCodes: codes, stream: &$0, nowMillis: nowMillis)
        }
        switch decision {
        case .invalid(let field, let rule):
            logger.notice("bulk stream refused", metadata: ["field": "\(field)", "outcome": "invalid-argument"])
            throw RPCError(code: .invalidArgument, message: "\(field): \(rule)")
        case .permissionDenied:
            metrics.update { $0.denied += 1 }
            logger.warning("bulk stream denied", metadata: [
                "batch-id": "\(message.batchID)", "requester": "\(message.requesterCode)",
                "certificate-codes": "\(codes.map(\.rawValue).joined(separator: ","))", "outcome": "permission-denied",
            ])
            auditDenied(message, client: client)
            throw RPCError(code: .permissionDenied, message: "requester_code: is not carried by the client certificate")
        case .tooManyInFlight:
            logger.notice("bulk stream refused", metadata: ["batch-id": "\(message.batchID)", "outcome": "resource-exhausted"])
            throw RPCError(code: .resourceExhausted,
                           message: "batches in flight: more than \(WireLimits.maxBatchesInFlight) on this stream")
        case .accept(let batch):
            let isNew = shell.opened.withLock { !$0.contains(batch.requester) }
            if isNew {
                guard limiter.openStream(batch.requester) else {
                    let limit = limiter.snapshot.streamsPerRequester
                    logger.notice("bulk stream refused", metadata: ["requester": "\(batch.requester)", "outcome": "resource-exhausted"])
                    throw RPCError(code: .resourceExhausted,
                                   message: "bulkStreamsPerRequester: requester \(batch.requester) already has \(limit) bulk streams open")
                }
                shell.opened.withLock { _ = $0.insert(batch.requester) }
            }
            return batch
        }
    }

    /// Answers one accepted batch: waits for the requester's rate and a
    /// worker, then looks up, audits and builds the padded responses.
    func answer(_ batch: ValidatedBatch, items: [BulkItem], client: PeerCertificateInfo?) async throws -> [Renkei_V1_BulkInquiryResponse] {
        try await limiter.admit(batch.requester, items: items.count)
        return try await limiter.withWorker {
            try Task.checkCancellation()
            // Off Swift's cooperative pool (one thread per core): a batch is
            // tens of milliseconds of blocking reads and decryption, and on
            // the pool it would stall every other task of the process,
            // single inquiries included.
            return try await NIOThreadPool.singleton.runIfActive {
                try process(batch, items: items, client: client)
            }
        }
    }

    /// The CPU part of a batch, synchronous: plan, one batched read per
    /// hosted tenant, hints, mapping, audit, padding.
    func process(_ batch: ValidatedBatch, items: [BulkItem], client: PeerCertificateInfo?) throws(RPCError) -> [Renkei_V1_BulkInquiryResponse] {
        var plan = BulkPlan.make(items, hosted: store.hosts)
        // The same work as a miss in a hosted tenant, so the time does not
        // tell a hosted target from one that is not (see Inquire).
        for index in plan.unhosted { store.decoyLookup(items[index].individualNumber) }
        var counts: [MunicipalityCode: BulkCounts] = [:]
        for (target, invalid) in plan.invalidByTarget { counts[target, default: BulkCounts()].invalid = invalid }
        for (target, lookups) in plan.lookups {
            let files: [ResidentFile?]
            do throws(NodeError) {
                let tenant = try store.tenant(target)
                files = try tenant.residentFiles(numbers: lookups.map(\.number)) { position, resident in
                    lookups[position].hints.agree(with: resident)
                }
            } catch {
                logger.error("bulk lookup failed", metadata: ["batch-id": "\(batch.batchID)", "target": "\(target)", "error": "\(error.code)"])
                throw RPCError(code: .internalError, message: "the provider failed")
            }
            var tally = counts[target, default: BulkCounts()]
            for (lookup, file) in zip(lookups, files) {
                let itemID = items[lookup.index].itemID
                if let file {
                    plan.results[lookup.index] = .match(itemID: itemID, file: RecordMapping.vaccinationFile(file))
                    tally.match += 1
                } else {
                    plan.results[lookup.index] = .noMatch(itemID: itemID)
                    tally.noMatch += 1
                }
            }
            counts[target] = tally
        }
        var results: [Renkei_V1_BulkResult] = []
        results.reserveCapacity(items.count)
        var total = BulkCounts()
        for slot in plan.results {
            guard let result = slot else { preconditionFailure("an item of the batch has no result") }
            switch result.outcome {
            case .match: total.match += 1
            case .invalid: total.invalid += 1
            default: total.noMatch += 1
            }
            results.append(result)
        }
        // Recorded before the answer leaves: a batch that cannot be audited
        // is not answered.
        for (target, tally) in counts.sorted(by: { $0.key < $1.key }) {
            try audit(AuditRecord(event: .bulkAnswered, outcome: tally.match > 0 ? .match : .noMatch, requestID: batch.batchID,
                                  requesterCode: batch.requester, targetCode: target,
                                  peerCertificateSHA256: client?.spkiSHA256, detail: tally.detail))
        }
        let responses: [Renkei_V1_BulkInquiryResponse]
        do {
            responses = try BulkPadding.responses(batchID: batch.batchID, results: results, maxBytes: maxMessageBytes)
        } catch {
            logger.error("bulk answer too large", metadata: ["batch-id": "\(batch.batchID)"])
            throw RPCError(code: .internalError, message: "the provider failed")
        }
        metrics.update {
            $0.bulkBatches += 1
            $0.bulkMatches += total.match
            $0.bulkNoMatches += total.noMatch
            $0.bulkInvalid += total.invalid
            $0.lookups += plan.lookups.count
        }
        Self.countItems(total, requester: batch.requester.rawValue)
        logger.info("bulk batch answered", metadata: [
            "batch-id": "\(batch.batchID)", "requester": "\(batch.requester)", "items": "\(items.count)",
            "match": "\(total.match)", "no-match": "\(total.noMatch)", "invalid": "\(total.invalid)",
            "responses": "\(responses.count)",
        ])
        return responses
    }

    /// `renkei_bulk_items_answered_total{outcome, requester}`: items of
    /// accepted batches by answer. The requester label is a municipality code
    /// or "other" (`MetricLabels.bounded`); nothing from an item is a label.
    static func countItems(_ total: BulkCounts, requester: String) {
        let requester = MetricLabels.bounded(requester)
        for (outcome, n) in [("match", total.match), ("no-match", total.noMatch), ("invalid", total.invalid)] where n > 0 {
            Counter(label: "renkei_bulk_items_answered_total",
                    dimensions: [("outcome", outcome), ("requester", requester)]).increment(by: n)
        }
    }

    /// PERMISSION_DENIED is audited in the log of every hosted tenant the
    /// batch names (codes only; nothing was looked up).
    func auditDenied(_ message: Renkei_V1_BulkInquiryRequest, client: PeerCertificateInfo?) {
        var targets = Set<MunicipalityCode>()
        for item in message.items {
            if let code = try? MunicipalityCode(item.targetCode), store.hosts(code) { targets.insert(code) }
        }
        let batchID: String? = (try? InquiryRules.checkUUID(message.batchID, field: "batch_id")) != nil ? message.batchID : nil
        for target in targets.sorted() {
            try? audit(AuditRecord(event: .bulkAnswered, outcome: .permissionDenied, requestID: batchID,
                                   requesterCode: try? MunicipalityCode(message.requesterCode), targetCode: target,
                                   peerCertificateSHA256: client?.spkiSHA256,
                                   detail: "requester_code not in the client certificate; items \(message.items.count)"))
        }
    }

    private func audit(_ record: AuditRecord) throws(RPCError) {
        guard let target = record.targetCode else { return }
        do throws(NodeError) {
            let log = try store.auditLog(target)
            do throws(AuditError) {
                try log.append(record)
            } catch {
                throw NodeError(.storage, error.message, cause: error)
            }
        } catch {
            logger.critical("audit append failed; bulk batch not answered", metadata: ["target": "\(target)", "error": "\(error.message)"])
            throw RPCError(code: .internalError, message: "the provider failed")
        }
    }
}
