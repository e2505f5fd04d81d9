import Foundation
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiTenantStore
import RenkeiWire

/// What a transfer-in inquiry did.
public struct TransferInResult: Sendable {
    /// The provider's answer.
    public let response: Renkei_V1_TransferInquiryResponse
    /// For a MATCH: how the received file was stored in the requester's tenant.
    public let stored: ReceivedStoreOutcome?
}

/// 転入: asks the previous municipality for a person's file as the requester
/// tenant, with the node's own certificate and the current signed directory,
/// and keeps a MATCH in the requester's tenant, marked with its source (and
/// the person's 転入 flag set if they are registered here). Used by the admin
/// endpoint of a running node and by the CLI when no node runs.
///
/// The requester tenant's audit log gets the sent inquiry (outcome, request
/// ID, both codes, the number's blind index, the provider's pinned key) and
/// the storing; the audit entry is written before the caller sees the answer.
public struct TransferIn: Sendable {
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

    /// Asks and stores. The requester must be a tenant of this node.
    public func run(_ inquiry: TransferInquiry, receivedOn: LocalDate = .todayInJapan()) async throws(PeerError) -> TransferInResult {
        let tenant: TenantPartition
        let audit: AuditLog
        do throws(NodeError) {
            tenant = try store.tenant(inquiry.requester)
            audit = try store.auditLog(inquiry.requester)
        } catch {
            throw PeerError(.invalidInput, "this node does not host municipality \(inquiry.requester), so it cannot ask as it; nothing was sent")
        }
        let numberIndex = tenant.numberIndexHex(inquiry.number)
        let requester = inquiry.requester, target = inquiry.target

        let response: Renkei_V1_TransferInquiryResponse
        let route: PeerRoute
        do throws(PeerError) {
            route = try trust.route(to: inquiry.target)
            response = try await TransferInquiryClient.inquire(inquiry, route: route, config: config, trust: trust.peerTrust())
        } catch {
            try record(audit, AuditRecord(event: .inquirySent, outcome: .error, requesterCode: requester, targetCode: target,
                                          numberIndex: numberIndex, detail: error.code.rawValue))
            logger.notice("transfer inquiry failed", metadata: ["requester": "\(requester)", "target": "\(target)", "error": "\(error.code.rawValue)"])
            throw error
        }
        let matched = response.outcome == .match
        try record(audit, AuditRecord(event: .inquirySent, outcome: matched ? .match : .noMatch, requestID: response.requestID,
                                      requesterCode: requester, targetCode: target, numberIndex: numberIndex,
                                      peerCertificateSHA256: route.entry.spkiSHA256))
        logger.info("transfer inquiry answered", metadata: [
            "request-id": "\(response.requestID)", "requester": "\(requester)", "target": "\(target)",
            "outcome": "\(matched ? "match" : "no-match")"])
        guard matched else { return TransferInResult(response: response, stored: nil) }

        let received: ReceivedFile
        do throws(ReceivedFileError) {
            received = try RecordMapping.receivedFile(response.match, source: inquiry.target, requestID: response.requestID,
                                                      number: inquiry.number, receivedOn: receivedOn)
        } catch {
            try record(audit, AuditRecord(event: .recordsReceived, outcome: .error, requestID: response.requestID,
                                          requesterCode: requester, targetCode: target, numberIndex: numberIndex,
                                          detail: "refused: breaks a record rule"))
            throw PeerError(.protocolViolation, "the provider's file breaks a record rule and was not stored: \(error.message)")
        }
        let outcome: ReceivedStoreOutcome
        do throws(NodeError) {
            outcome = try tenant.storeReceivedFile(received)
        } catch {
            logger.error("storing a received file failed", metadata: ["requester": "\(requester)", "error": "\(error.code)"])
            throw PeerError(.storage, "the records were received but could not be stored: \(error.message)", cause: error)
        }
        let stored: AuditOutcome = switch outcome.storage {
        case .stored: .stored
        case .replaced: .replaced
        case .unchanged: .unchanged
        }
        try record(audit, AuditRecord(event: .recordsReceived, outcome: stored, requestID: response.requestID,
                                      requesterCode: requester, targetCode: target, numberIndex: numberIndex,
                                      detail: "doses \(received.doses.count); moved-in flag \(outcome.movedInSet ? "set" : outcome.residentRegistered ? "unchanged" : "pending registration")"))
        return TransferInResult(response: response, stored: outcome)
    }

    /// An audit entry, or the failure to write one, which the caller sees:
    /// an operation whose record cannot be kept is reported, not hidden.
    private func record(_ log: AuditLog, _ record: AuditRecord) throws(PeerError) {
        do throws(AuditError) {
            _ = try log.append(record)
        } catch {
            logger.critical("audit append failed", metadata: ["event": "\(record.event.rawValue)", "error": "\(error.code.rawValue)"])
            throw PeerError(.storage, "the audit log could not be written: \(error.message)", cause: error)
        }
    }
}
