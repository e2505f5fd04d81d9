import Foundation
import GRPCCore
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiTenantStore
import RenkeiWire

/// `renkei.admin.v1.Admin`: operator commands carried out by the running
/// node, on the admin socket only. Every call acts as one hosted
/// municipality (`acting_code`) and touches only that tenant; what it does is
/// recorded in that tenant's audit log, never with the number itself.
public struct AdminService: Renkei_Admin_V1_Admin.SimpleServiceProtocol {
    let store: NodeStore
    let transferIn: TransferIn
    let logger: Logger

    public init(store: NodeStore, config: NodeConfig, trust: TrustSource, logger: Logger) {
        self.store = store
        self.transferIn = TransferIn(store: store, config: config, trust: trust, logger: logger)
        self.logger = logger
    }

    public func inquireTransfer(
        request: Renkei_Admin_V1_InquireTransferRequest, context: ServerContext
    ) async throws -> Renkei_Admin_V1_InquireTransferResponse {
        let acting = try field { () throws(BrokenRule) in try InquiryRules.code(request.actingCode, field: "acting_code") }
        let target = try field { () throws(BrokenRule) in try InquiryRules.code(request.targetCode, field: "target_code") }
        let number = try field { () throws(BrokenRule) in try InquiryRules.individualNumber(request.individualNumber, field: "individual_number") }
        let consent = request.consentReference.isEmpty ? "consent-on-file" : request.consentReference
        try field { () throws(BrokenRule) in try InquiryRules.checkConsentReference(consent, field: "consent_reference") }
        let purpose: Renkei_V1_Purpose = switch request.purpose {
        case .unspecified: .transferIn
        case .transferIn, .certificate: request.purpose
        case .UNRECOGNIZED: throw RPCError(code: .invalidArgument, message: "purpose: is not a known purpose")
        }
        guard store.hosts(acting) else {
            throw RPCError(code: .permissionDenied, message: "acting_code: this node does not host municipality \(acting)")
        }
        let result: TransferInResult
        do throws(PeerError) {
            result = try await transferIn.run(TransferInquiry(requester: acting, target: target, number: number,
                                                              purpose: purpose, consentReference: consent))
        } catch {
            throw Self.rpcError(error)
        }
        var answer = Renkei_Admin_V1_InquireTransferResponse()
        answer.requestID = result.response.requestID
        answer.outcome = result.response.outcome
        if let stored = result.stored {
            answer.match = result.response.match
            answer.stored = stored.storage.rawValue
            answer.residentRegistered = stored.residentRegistered
        }
        return answer
    }

    public func markMovedOut(
        request: Renkei_Admin_V1_MarkMovedOutRequest, context: ServerContext
    ) async throws -> Renkei_Admin_V1_MarkMovedOutResponse {
        let acting = try field { () throws(BrokenRule) in try InquiryRules.code(request.actingCode, field: "acting_code") }
        let number = try field { () throws(BrokenRule) in try InquiryRules.individualNumber(request.individualNumber, field: "individual_number") }
        let destination = try field { () throws(BrokenRule) in try InquiryRules.code(request.toCode, field: "to_code") }
        let date: LocalDate
        if request.movedOutOn.isEmpty {
            date = .todayInJapan()
        } else {
            do throws(ValidationError) {
                date = try LocalDate(parsing: request.movedOutOn, field: FieldName("moved_out_on", "転出日"))
            } catch {
                throw RPCError(code: .invalidArgument, message: "moved_out_on: \(error.message)")
            }
        }
        guard store.hosts(acting) else {
            throw RPCError(code: .permissionDenied, message: "acting_code: this node does not host municipality \(acting)")
        }
        let result: MoveOutResult
        do throws(PeerError) {
            result = try MoveOut.mark(store: store, code: acting, number: number, to: destination, on: date)
        } catch {
            throw Self.rpcError(error)
        }
        var answer = Renkei_Admin_V1_MarkMovedOutResponse()
        answer.result = switch result.outcome {
        case .marked: .marked
        case .alreadyMarked: .alreadyMarked
        case .notFound: .notFound
        }
        answer.auditSequence = result.auditEntry.seq
        return answer
    }

    private func field<T>(_ body: () throws(BrokenRule) -> T) throws -> T {
        do throws(BrokenRule) {
            return try body()
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
    }

    /// A requester-side failure as the admin caller sees it.
    static func rpcError(_ error: PeerError) -> RPCError {
        switch error.code {
        case .invalidInput: RPCError(code: .invalidArgument, message: error.message)
        case .directory, .configuration, .tlsMaterial: RPCError(code: .failedPrecondition, message: error.message)
        case .misrouted: RPCError(code: .failedPrecondition, message: error.message + " (the number was not sent)")
        case .connection: RPCError(code: .unavailable, message: error.description)
        case .rpc: RPCError(code: (error.cause as? RPCError)?.code ?? .unknown, message: error.message)
        case .protocolViolation: RPCError(code: .dataLoss, message: error.message)
        case .storage: RPCError(code: .internalError, message: error.message)
        }
    }
}
