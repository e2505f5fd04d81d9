import Foundation
import Metrics
import RenkeiObservability
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiPKI
import RenkeiTenantStore
import RenkeiWire
import SwiftProtobuf

/// The provider side of `renkei.v1.TransferInquiry`: a thin handler that
/// asks `TransferInquiryDecision` what to do and then does only that.
///
/// The number is looked up only in the tenant named by `target_code`; every
/// miss (tenant not hosted, nobody with this number) is the same padded
/// NO_MATCH. Logs carry the request ID, the codes and the outcome, never the
/// number.
public struct TransferInquiryService: Renkei_V1_TransferInquiry.SimpleServiceProtocol {
    let store: NodeStore
    let logger: Logger
    let metrics: PeerMetrics
    let maxMessageBytes: Int
    /// Serves `InquireBulk`.
    let bulk: BulkInquiryService

    /// - Parameter bulk: the bulk service; by default one with its own
    ///   limiter at the default limits.
    public init(store: NodeStore, logger: Logger, metrics: PeerMetrics, maxMessageBytes: Int = WireLimits.maxMessageBytes,
                bulk: BulkInquiryService? = nil) {
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.maxMessageBytes = maxMessageBytes
        self.bulk = bulk ?? BulkInquiryService(store: store, logger: logger, metrics: metrics,
                                               limiter: BulkLimiter(NodeConfig.Limits(maxMessageBytes: maxMessageBytes)),
                                               maxMessageBytes: maxMessageBytes)
    }

    /// RESOURCE_EXHAUSTED for a message over the contract's limit that the
    /// transport (whose ceiling is higher, see `NodeConfig.Limits`) let through.
    func checkSize(_ message: some SwiftProtobuf.Message, field: String) throws {
        let size = (try? message.serializedBytes() as [UInt8])?.count ?? Int.max
        guard size <= maxMessageBytes else {
            metrics.update { $0.invalid += 1 }
            logger.notice("inquiry rejected", metadata: ["bytes": "\(size)", "outcome": "resource-exhausted"])
            throw RPCError(code: .resourceExhausted, message: "\(field): is \(size) bytes, over the limit of \(maxMessageBytes) bytes")
        }
    }

    public func inquire(
        request: Renkei_V1_TransferInquiryRequest, context: ServerContext
    ) async throws -> Renkei_V1_TransferInquiryResponse {
        metrics.update { $0.inquiriesReceived += 1 }
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            Metrics.Timer(label: "renkei_inquiry_answer_seconds")
                .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        try checkSize(request, field: "TransferInquiryRequest")
        let client = Self.clientIdentity(context)
        let codes = client?.municipalityCodes ?? []
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let decision = TransferInquiryDecision.decide(request, certificateCodes: codes, hosted: store.hosts, nowMillis: nowMillis)
        switch decision {
        case .invalid(let field, let rule):
            metrics.update { $0.invalid += 1 }
            Self.count("invalid-argument", request)
            logger.notice("inquiry rejected", metadata: ["field": "\(field)", "outcome": "invalid-argument"])
            try audit(request, outcome: .invalidArgument, client: client, detail: "field \(field)")
            throw RPCError(code: .invalidArgument, message: "\(field): \(rule)")
        case .permissionDenied:
            metrics.update { $0.denied += 1 }
            Self.count("permission-denied", request)
            logger.warning("inquiry denied", metadata: [
                "request-id": "\(request.requestID)", "requester": "\(request.requesterCode)",
                "certificate-codes": "\(codes.map(\.rawValue).joined(separator: ","))", "outcome": "permission-denied",
            ])
            try audit(request, outcome: .permissionDenied, client: client, detail: "requester_code not in the client certificate")
            throw RPCError(code: .permissionDenied, message: "requester_code: is not carried by the client certificate")
        case .noMatch(let requestID):
            // The same work as a miss in a hosted tenant (a keyed index and a
            // point read), so the time does not tell a hosted tenant from one
            // that is not. No tenant of this node is named, so no tenant's
            // audit log gets the entry; the structured log has it.
            store.decoyLookup(request.individualNumber)
            Self.count("no-match", request)
            return try answer(.noMatch(requestID: requestID), request: request)
        case .lookUp(let inquiry):
            metrics.update { $0.lookups += 1 }
            let tenant: TenantPartition
            let file: ResidentFile?
            do throws(NodeError) {
                tenant = try store.tenant(inquiry.target)
                file = try tenant.residentFile(number: inquiry.number)
            } catch {
                logger.error("inquiry lookup failed", metadata: ["request-id": "\(inquiry.requestID)", "error": "\(error.code)"])
                throw RPCError(code: .internalError, message: "the provider failed")
            }
            // Recorded before the answer leaves: an answer that cannot be
            // audited is not given.
            try audit(request, outcome: file == nil ? .noMatch : .match, client: client,
                      numberIndex: tenant.numberIndexHex(inquiry.number),
                      detail: "purpose \(inquiry.purpose == .certificate ? "certificate" : "transfer-in"); consent \(inquiry.consentReference)")
            Self.count(file == nil ? "no-match" : "match", request)
            guard let file else { return try answer(.noMatch(requestID: inquiry.requestID), request: request) }
            return try answer(.match(requestID: inquiry.requestID, file: RecordMapping.vaccinationFile(file)), request: request)
        }
    }

    /// `renkei_inquiries_answered_total{outcome, requester}`: the requester
    /// label is a municipality code or "other" (`MetricLabels.bounded`), never
    /// anything from the request that could be personal data.
    static func count(_ outcome: String, _ request: Renkei_V1_TransferInquiryRequest) {
        Counter(label: "renkei_inquiries_answered_total",
                dimensions: [("outcome", outcome), ("requester", MetricLabels.bounded(request.requesterCode))]).increment()
    }

    /// Appends `inquiry-answered` to the audit log of the target tenant, if
    /// this node hosts it (never a log for a code taken unchecked from the
    /// request). Fields that broke their rule are left out, not echoed.
    private func audit(_ request: Renkei_V1_TransferInquiryRequest, outcome: AuditOutcome, client: PeerCertificateInfo?,
                       numberIndex: String? = nil, detail: String) throws {
        guard let target = try? MunicipalityCode(request.targetCode), store.hosts(target) else { return }
        let requestID: String? = (try? InquiryRules.checkUUID(request.requestID, field: "request_id")) != nil ? request.requestID : nil
        let record = AuditRecord(event: .inquiryAnswered, outcome: outcome, requestID: requestID,
                                 requesterCode: try? MunicipalityCode(request.requesterCode), targetCode: target,
                                 numberIndex: numberIndex, peerCertificateSHA256: client?.spkiSHA256, detail: detail)
        do throws(NodeError) {
            let log = try store.auditLog(target)
            do throws(AuditError) {
                try log.append(record)
            } catch {
                throw NodeError(.storage, error.message, cause: error)
            }
        } catch {
            logger.critical("audit append failed; inquiry not answered", metadata: ["target": "\(target)", "error": "\(error.message)"])
            throw RPCError(code: .internalError, message: "the provider failed")
        }
    }

    public func inquireBulk(
        request: RPCAsyncSequence<Renkei_V1_BulkInquiryRequest, any Error>,
        response: RPCWriter<Renkei_V1_BulkInquiryResponse>,
        context: ServerContext
    ) async throws {
        try await bulk.serve(request: request, response: response, context: context)
    }

    /// Pads and logs an answer.
    private func answer(_ response: Renkei_V1_TransferInquiryResponse, request: Renkei_V1_TransferInquiryRequest) throws -> Renkei_V1_TransferInquiryResponse {
        var padded = response
        do {
            try padded.applyPadding()
        } catch {
            logger.error("inquiry answer too large", metadata: ["request-id": "\(request.requestID)"])
            throw RPCError(code: .internalError, message: "the provider failed")
        }
        metrics.update { padded.outcome == .match ? ($0.matches += 1) : ($0.noMatches += 1) }
        logger.info("inquiry answered", metadata: [
            "request-id": "\(request.requestID)", "requester": "\(request.requesterCode)",
            "target": "\(request.targetCode)", "outcome": "\(padded.outcome == .match ? "match" : "no-match")",
        ])
        return padded
    }

    /// The client certificate verified in the handshake.
    static func clientIdentity(_ context: ServerContext) -> PeerCertificateInfo? {
        guard let certificate = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate else { return nil }
        return try? PeerCertificateInfo(certificate)
    }
}
