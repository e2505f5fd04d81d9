import Foundation
import GRPCCore
import Logging
import RenkeiAccess
import RenkeiAudit
import RenkeiBackup
import RenkeiCore
import RenkeiTenantStore
import RenkeiWire

/// `renkei.admin.v1.Admin`: operator commands carried out by the running
/// node, on the admin socket only. Every call carries a session; the
/// `AccessGate` checks that its account belongs to the acting municipality
/// and that its roles allow the call. The call touches only that tenant, and
/// what it does is recorded in that tenant's audit log with the account and
/// terminal (`AuditOperator`), never with the number itself.
public struct AdminService: Renkei_Admin_V1_Admin.SimpleServiceProtocol {
    let gate: AccessGate
    let store: NodeStore
    let transferIn: TransferIn
    let bulkTransferIn: BulkTransferIn
    let logger: Logger
    /// The node's backup shipper; nil without a vault.
    let backup: (any NodeBackup)?

    public init(gate: AccessGate, store: NodeStore, config: NodeConfig, trust: TrustSource, logger: Logger, backup: (any NodeBackup)? = nil) {
        self.gate = gate
        self.store = store
        self.backup = backup
        self.transferIn = TransferIn(store: store, config: config, trust: trust, logger: logger)
        self.bulkTransferIn = BulkTransferIn(store: store, config: config, trust: trust, logger: logger)
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
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .inquireTransfer)
        let inquiry = TransferInquiry(requester: acting, target: target, number: number, purpose: purpose, consentReference: consent)
        let result: TransferInResult = try await AuditOperator.$current.withValue(AuditOperator(session)) {
            do throws(PeerError) {
                return try await transferIn.run(inquiry)
            } catch {
                throw Self.rpcError(error)
            }
        }
        if result.stored != nil { try await awaitVault("the received file") }
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
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .markMovedOut)
        let store = self.store
        let result: MoveOutResult = try AuditOperator.$current.withValue(AuditOperator(session)) {
            do throws(PeerError) {
                return try MoveOut.mark(store: store, code: acting, number: number, to: destination, on: date)
            } catch {
                throw Self.rpcError(error)
            }
        }
        try await awaitVault("the move-out")
        var answer = Renkei_Admin_V1_MarkMovedOutResponse()
        answer.result = switch result.outcome {
        case .marked: .marked
        case .alreadyMarked: .alreadyMarked
        case .notFound: .notFound
        }
        answer.auditSequence = result.auditEntry.seq
        return answer
    }

    /// Most rows in one `AdminBulkRows` message (the socket takes 64 KiB messages).
    static let maxRowsPerMessage = 200

    public func inquireBulk(
        request: RPCAsyncSequence<Renkei_Admin_V1_AdminBulkRows, any Error>,
        response: RPCWriter<Renkei_Admin_V1_AdminBulkProgress>,
        context: ServerContext
    ) async throws {
        // Collect the call: the run needs every row to group by provider.
        var first: Renkei_Admin_V1_AdminBulkRows?
        var rows: [BulkRow] = []
        var seen = Set<UInt32>()
        for try await message in request {
            guard message.rows.count <= Self.maxRowsPerMessage else {
                throw RPCError(code: .invalidArgument, message: "rows: at most \(Self.maxRowsPerMessage) rows per message")
            }
            if let head = first {
                if !message.actingCode.isEmpty, message.actingCode != head.actingCode {
                    throw RPCError(code: .invalidArgument, message: "acting_code: must be the same in every message")
                }
            } else {
                _ = try gate.authorize(session: message.session, acting: message.actingCode, .inquireBulk)
                first = message
            }
            guard rows.count + message.rows.count <= BulkRowRules.maxRowsPerRun else {
                throw RPCError(code: .resourceExhausted, message: "rows: at most \(BulkRowRules.maxRowsPerRun) rows per call")
            }
            for row in message.rows {
                guard row.index >= 1 else { throw RPCError(code: .invalidArgument, message: "index: must be 1 or more") }
                guard seen.insert(row.index).inserted else {
                    throw RPCError(code: .invalidArgument, message: "index: must be unique within the call")
                }
                rows.append(BulkRow(index: Int(row.index), targetCode: row.targetCode.nonEmpty, individualNumber: row.individualNumber.nonEmpty,
                                    nameKanaHint: row.nameKanaHint.nonEmpty, dateOfBirthHint: row.dateOfBirthHint.nonEmpty))
            }
        }
        guard let head = first else { throw RPCError(code: .invalidArgument, message: "acting_code: is required") }
        let acting = try field { () throws(BrokenRule) in try InquiryRules.code(head.actingCode, field: "acting_code") }
        let consent = head.consentReference.isEmpty ? "consent-on-file" : head.consentReference
        try field { () throws(BrokenRule) in try InquiryRules.checkConsentReference(consent, field: "consent_reference") }
        let purpose: Renkei_V1_Purpose = switch head.purpose {
        case .unspecified: .transferIn
        case .transferIn, .certificate: head.purpose
        case .UNRECOGNIZED: throw RPCError(code: .invalidArgument, message: "purpose: is not a known purpose")
        }
        guard head.batchSize <= 1000, head.streamsPerProvider <= 8, head.attempts <= 10 else {
            throw RPCError(code: .invalidArgument, message: "batch_size, streams_per_provider, attempts: at most 1000, 8 and 10")
        }
        // Checked again: the session may have ended while the rows came in.
        let session = try gate.authorize(session: head.session, acting: head.actingCode, .inquireBulk)
        let defaults = BulkTransferInOptions()
        let options = BulkTransferInOptions(
            client: BulkInquiryOptions(batchSize: head.batchSize == 0 ? defaults.client.batchSize : Int(head.batchSize),
                                       streamsPerProvider: head.streamsPerProvider == 0 ? defaults.client.streamsPerProvider : Int(head.streamsPerProvider),
                                       purpose: purpose, consentReference: consent),
            attempts: head.attempts == 0 ? defaults.attempts : Int(head.attempts))

        // Settlements arrive from several tasks; one loop writes them in turn.
        let (settlements, sink) = AsyncStream<BulkSettlement>.makeStream()
        let total = UInt64(rows.count)
        let run = bulkTransferIn
        let runRows = rows
        // Child tasks inherit the operator, so the run's audit entries name them.
        try await AuditOperator.$current.withValue(AuditOperator(session)) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { sink.finish() }
                do throws(PeerError) {
                    _ = try await run.run(runRows, requester: acting, options: options) { settlement throws(PeerError) in
                        _ = sink.yield(settlement)
                    }
                } catch {
                    throw Self.rpcError(error)
                }
            }
            var done: UInt64 = 0
            var batches: UInt64 = 0
            for await settlement in settlements {
                // A large local settlement (many bad rows) goes out in parts.
                let parts = stride(from: 0, to: max(settlement.results.count, 1), by: 1000).map {
                    Array(settlement.results[$0..<min($0 + 1000, settlement.results.count)])
                }
                for (n, part) in parts.enumerated() {
                    var progress = Renkei_Admin_V1_AdminBulkProgress()
                    progress.results = part.map { r in
                        var wire = Renkei_Admin_V1_AdminBulkRowResult()
                        wire.index = UInt32(r.index)
                        wire.outcome = switch r.outcome {
                        case .match: .match
                        case .noMatch: .noMatch
                        case .invalid: .invalid
                        case .unreachable: .unreachable
                        }
                        wire.reason = r.reason
                        wire.doses = UInt32(r.doses)
                        return wire
                    }
                    done += UInt64(part.count)
                    if n == 0, let latency = settlement.batchLatency {
                        batches += 1
                        progress.batchLatencyMs = Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
                    }
                    progress.rowsDone = done
                    progress.rowsTotal = total
                    progress.batchesDone = batches
                    try await response.write(progress)
                }
            }
            try await group.waitForAll()
        }
        }
        try await awaitVault("the received files")
    }

    // MARK: Backup

    /// In sync mode: returns once the vault acknowledged every change made
    /// so far (so the caller's own write too), else UNAVAILABLE saying the
    /// change is stored here but not yet in the vault. Nothing in async mode.
    private func awaitVault(_ what: String) async throws {
        guard let backup, backup.isSynchronous else { return }
        let seq = store.backupDatabase.lastChangeSequence
        do {
            try await backup.waitUntilShipped(seq)
        } catch {
            throw RPCError(code: .unavailable, message: "\(what) is stored on this node, but the vault has not confirmed it (synchronous backup): \(error)")
        }
    }

    private func requireBackup(_ session: String, _ actingCode: String, _ operation: RenkeiAccess.Operation) throws -> (Session, any NodeBackup) {
        let caller = try gate.authorize(session: session, acting: actingCode, operation)
        guard let backup else {
            throw RPCError(code: .failedPrecondition, message: "this node has no vault configured (the vault section of its configuration)")
        }
        return (caller, backup)
    }

    public func backupNow(
        request: Renkei_Admin_V1_BackupNowRequest, context: ServerContext
    ) async throws -> Renkei_Admin_V1_BackupNowResponse {
        let (session, backup) = try requireBackup(request.session, request.actingCode, .backup)
        let result: SnapshotResult
        do {
            result = try await backup.backupNow()
        } catch {
            try gate.record(session, .backupRequested, .error, detail: "snapshot")
            throw RPCError(code: .unavailable, message: "the base snapshot did not reach the vault: \(error)")
        }
        try gate.record(session, .backupRequested, .ok, detail: "snapshot covers-seq=\(result.coversSeq)")
        var answer = Renkei_Admin_V1_BackupNowResponse()
        answer.snapshotID = result.id
        answer.coversSeq = result.coversSeq
        answer.createdUnixMillis = result.createdUnixMillis
        answer.files = UInt32(clamping: result.files)
        answer.sentFiles = UInt32(clamping: result.sentFiles)
        answer.sentBytes = result.sentBytes
        return answer
    }

    public func backupStatus(
        request: Renkei_Admin_V1_BackupStatusRequest, context: ServerContext
    ) async throws -> Renkei_Admin_V1_BackupStatusResponse {
        let s = try requireBackup(request.session, request.actingCode, .backupStatus).1.status()
        var answer = Renkei_Admin_V1_BackupStatusResponse()
        answer.mode = s.mode.rawValue
        answer.vault = s.vault
        answer.vaultReachable = s.vaultReachable
        answer.unreachableSinceUnixMillis = s.unreachableSinceUnixMillis ?? 0
        answer.lastError = s.lastError ?? ""
        answer.lastChangeSeq = s.lastChangeSeq
        answer.lastShippedSeq = s.lastShippedSeq
        answer.lastAckedSeq = s.lastAckedSeq
        answer.lagSeconds = s.lagSeconds
        answer.lagBytes = UInt64(max(0, s.lagBytes))
        answer.holdBackBytesMax = UInt64(max(0, s.holdBackBytesMax))
        answer.needsSnapshot = s.needsSnapshot
        answer.backlogDrops = UInt32(clamping: s.backlogDrops)
        answer.lastSnapshotID = s.lastSnapshotID ?? ""
        answer.lastSnapshotCoversSeq = s.lastSnapshotCoversSeq ?? 0
        answer.lastSnapshotAgeSeconds = s.lastSnapshotAgeSeconds ?? -1
        return answer
    }

    /// The live side of `renkei backup drill`: writes the sentinel and
    /// counts every hosted tenant in the state right after it (see
    /// `NodeStore.writeDrillMark`). Logged on the node with the sequence
    /// numbers and counts; the token is not logged (it proves nothing
    /// secret, but a log line has no use for it).
    public func backupDrillMark(
        request: Renkei_Admin_V1_BackupDrillMarkRequest, context: ServerContext
    ) async throws -> Renkei_Admin_V1_BackupDrillMarkResponse {
        let (session, _) = try requireBackup(request.session, request.actingCode, .backup)
        let sentinel = DrillSentinel.random(unixMillis: UInt64(max(0, Date().timeIntervalSince1970 * 1000)))
        let mark: DrillMark
        do throws(NodeError) {
            mark = try store.writeDrillMark(sentinel)
        } catch {
            throw RPCError(code: error.code == .conflict ? .unavailable : .internalError, message: "drill mark: \(error.message)")
        }
        try gate.record(session, .backupRequested, .ok, detail: "drill-mark sentinel-seq=\(mark.sentinelSeq)")
        logger.notice("backup drill: sentinel written", metadata: [
            "acting": "\(request.actingCode)", "sentinel-seq": "\(mark.sentinelSeq)", "counted-seq": "\(mark.countedSeq)",
            "tenants": "\(mark.tenants.map { "\($0.code):\($0.counts.residents)/\($0.counts.vaccinations)/\($0.counts.receivedFiles)" }.joined(separator: ","))",
        ])
        var answer = Renkei_Admin_V1_BackupDrillMarkResponse()
        answer.sentinelToken = Data(mark.sentinel.token)
        answer.sentinelUnixMillis = mark.sentinel.unixMillis
        answer.sentinelSeq = mark.sentinelSeq
        answer.countedSeq = mark.countedSeq
        answer.tenants = mark.tenants.map { tenant in
            var wire = Renkei_Admin_V1_DrillTenantCounts()
            wire.code = tenant.code.rawValue
            wire.residents = UInt64(max(0, tenant.counts.residents))
            wire.vaccinations = UInt64(max(0, tenant.counts.vaccinations))
            wire.receivedFiles = UInt64(max(0, tenant.counts.receivedFiles))
            return wire
        }
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

extension String {
    /// nil for the empty string (proto3's "not given").
    var nonEmpty: String? { isEmpty ? nil : self }
}
