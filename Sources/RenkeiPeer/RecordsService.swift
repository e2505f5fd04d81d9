import Foundation
import GRPCCore
import Logging
import NIOPosix
import RenkeiAccess
import RenkeiAudit
import RenkeiCore
import RenkeiCSV
import RenkeiImport
import RenkeiTenantStore
import RenkeiWire

/// `renkei.admin.v1.Records`: imports, exports, resident views, tenant
/// deletion, the operation-log export and the assessment figures, done by
/// the running node for a logged-in operator. Each call is authorized by the
/// `AccessGate` and written to the acting municipality's operation log with
/// the account and terminal, and a number only as its blind index.
public struct RecordsService: Renkei_Admin_V1_Records.SimpleServiceProtocol {
    let gate: AccessGate
    let store: NodeStore
    let config: NodeConfig
    let logger: Logger
    /// Called after a tenant is deleted, so the node's readiness follows
    /// the set of municipalities it hosts.
    let onTenantsChanged: @Sendable () -> Void

    public init(gate: AccessGate, store: NodeStore, config: NodeConfig, logger: Logger,
                onTenantsChanged: @escaping @Sendable () -> Void = {}) {
        self.gate = gate
        self.store = store
        self.config = config
        self.logger = logger
        self.onTenantsChanged = onTenantsChanged
    }

    /// Largest chunk the node sends (the admin socket's messages are 64 KiB at most).
    static let chunkBytes = 32 * 1024
    /// Where uploads and exports are held while the node works on them:
    /// memory-backed, so personal data in a CSV is never written to a disk.
    static let memoryDirectory = "/dev/shm"

    // MARK: Import

    public func importRecords(request: RPCAsyncSequence<Renkei_Admin_V1_ImportChunk, any Error>, context: ServerContext) async throws -> Renkei_Admin_V1_ImportResponse {
        var head: Renkei_Admin_V1_ImportChunk?
        var session: Session?
        var spool: MemoryFile?
        defer { spool?.remove() }
        var received = 0
        for try await chunk in request {
            if head == nil {
                head = chunk
                session = try gate.authorize(session: chunk.session, acting: chunk.actingCode, .importRecords)
                guard chunk.kind == "residents" || chunk.kind == "vaccinations" else {
                    throw RPCError(code: .invalidArgument, message: "kind: must be residents or vaccinations")
                }
                guard TextEncoding(name: chunk.encoding.isEmpty ? "utf-8" : chunk.encoding) != nil else {
                    throw RPCError(code: .invalidArgument, message: "encoding: must be utf-8 or cp932")
                }
                guard chunk.batchRows <= UInt32(TenantPartition.maxBatchRows) else {
                    throw RPCError(code: .invalidArgument, message: "batch_rows: at most \(TenantPartition.maxBatchRows)")
                }
                spool = try MemoryFile.create(prefix: "renkei-import")
            }
            guard chunk.data.count <= Self.chunkBytes * 2 else {
                throw RPCError(code: .invalidArgument, message: "data: at most \(Self.chunkBytes * 2) bytes per message")
            }
            received += chunk.data.count
            guard received <= gate.settings.importBytesMax else {
                throw RPCError(code: .resourceExhausted,
                               message: "data: the file is larger than this node's import limit of \(gate.settings.importBytesMax) bytes (access.importBytesMax); nothing was stored")
            }
            try spool!.write(chunk.data)
        }
        guard let head, let session, let spool else {
            throw RPCError(code: .invalidArgument, message: "session: the first message must carry the session and acting_code")
        }
        try spool.close()
        let acting = try MunicipalityCode(session.code)
        let partition: TenantPartition
        do throws(NodeError) { partition = try store.tenant(acting) } catch {
            throw RPCError(code: .notFound, message: error.description)
        }
        let options = ImportOptions(encoding: TextEncoding(name: head.encoding.isEmpty ? "utf-8" : head.encoding)!,
                                    batchRows: head.batchRows == 0 ? 1_000 : Int(head.batchRows))
        let displayName = Self.fileLabel(head.fileName)
        let path = spool.path
        let logger = self.logger
        let kind = head.kind
        let report: ImportReport
        do {
            report = try await NIOThreadPool.singleton.runIfActive { () throws -> ImportReport in
                do throws(ImportError) {
                    return kind == "residents"
                        ? try ResidentImporter(partition: partition, options: options, logger: logger).run(path: path)
                        : try VaccinationImporter(partition: partition, options: options, logger: logger).run(path: path)
                } catch { throw error }
            }
        } catch let error as ImportError {
            try gate.record(session, .recordsImported, error.code == .rejected ? .invalidArgument : .error,
                            detail: "kind=\(kind) bytes=\(received) bad-rows=\(error.badRowCount)")
            let message = error.description.replacingOccurrences(of: path, with: displayName)
            throw RPCError(code: error.code == .rejected || error.code == .unreadable ? .invalidArgument : .internalError, message: message)
        }
        var answer = Renkei_Admin_V1_ImportResponse()
        answer.rows = UInt64(report.rows)
        answer.inserted = UInt64(report.outcome.inserted)
        answer.updated = UInt64(report.outcome.updated)
        answer.unchanged = UInt64(report.outcome.unchanged)
        answer.seconds = report.seconds
        answer.auditSequence = try gate.record(session, .recordsImported, .ok,
                                               detail: "kind=\(kind) rows=\(report.rows) inserted=\(report.outcome.inserted) updated=\(report.outcome.updated) unchanged=\(report.outcome.unchanged)")
        return answer
    }

    /// A file name for messages: the last path part, printable, short.
    static func fileLabel(_ name: String) -> String {
        let last = name.split(separator: "/").last.map(String.init) ?? ""
        let clean = String(last.unicodeScalars.filter { !$0.properties.isWhitespace || $0 == " " }.filter { $0.value >= 0x20 }.prefix(64).map(Character.init))
        return clean.isEmpty ? "the uploaded file" : clean
    }

    // MARK: Export

    public func exportVaccinations(request: Renkei_Admin_V1_ExportRequest, response: RPCWriter<Renkei_Admin_V1_ExportChunk>,
                                   context: ServerContext) async throws {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .exportRecords)
        guard let encoding = TextEncoding(name: request.encoding.isEmpty ? "utf-8" : request.encoding) else {
            throw RPCError(code: .invalidArgument, message: "encoding: must be utf-8 or cp932")
        }
        let acting = try MunicipalityCode(session.code)
        let partition: TenantPartition
        do throws(NodeError) { partition = try store.tenant(acting) } catch {
            throw RPCError(code: .notFound, message: error.description)
        }
        let spool = try MemoryFile.reserve(prefix: "renkei-export")
        defer { spool.remove() }
        let logger = self.logger
        let path = spool.path
        let bom = request.byteOrderMark
        let count: Int
        do {
            count = try await NIOThreadPool.singleton.runIfActive {
                try VaccinationExporter(partition: partition, logger: logger).run(to: path, encoding: encoding, byteOrderMark: bom)
            }
        } catch {
            try gate.record(session, request.forMedia ? .mediaExported : .recordsExported, .error)
            logger.error("export failed", metadata: ["tenant": "\(session.code)", "error": "\(error)"])
            throw RPCError(code: .internalError, message: "the export of municipality \(session.code) failed; see the node log")
        }
        let exportID = UUID().uuidString
        try gate.record(session, request.forMedia ? .mediaExported : .recordsExported, .ok, requestID: exportID,
                        detail: "records=\(count)\(request.forMedia ? " medium=removable" : "")")
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RPCError(code: .internalError, message: "the export file vanished before it was sent")
        }
        defer { try? handle.close() }
        spool.remove()  // still readable through the open handle, gone from the name space
        var first = true
        while true {
            let data = try handle.read(upToCount: Self.chunkBytes) ?? Data()
            if data.isEmpty && !first { break }
            var chunk = Renkei_Admin_V1_ExportChunk()
            if first {
                chunk.exportID = exportID
                chunk.records = UInt64(count)
                first = false
            }
            chunk.data = data
            try await response.write(chunk)
            if data.isEmpty { break }
        }
    }

    public func reportMediaErased(request: Renkei_Admin_V1_MediaErasedRequest, context: ServerContext) async throws -> Renkei_Admin_V1_MediaErasedResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .reportMediaErasure)
        guard UUID(uuidString: request.mediaID) != nil else {
            throw RPCError(code: .invalidArgument, message: "media_id: must be the export id (a UUID) that `renkei export` printed")
        }
        guard (1...40).contains(request.method.utf8.count), request.method.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }) else {
            throw RPCError(code: .invalidArgument, message: "method: must be 1-40 characters of a-z and - (e.g. overwritten, destroyed)")
        }
        var answer = Renkei_Admin_V1_MediaErasedResponse()
        answer.auditSequence = try gate.record(session, .mediaErased, .ok, requestID: request.mediaID.uppercased(), detail: "method=\(request.method)")
        return answer
    }

    // MARK: Residents and tenants

    public func residentShow(request: Renkei_Admin_V1_ResidentShowRequest, context: ServerContext) async throws -> Renkei_Admin_V1_ResidentShowResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .viewResident)
        let number = try Self.individualNumber(request.individualNumber)
        var answer = Renkei_Admin_V1_ResidentShowResponse()
        let tenant: TenantPartition
        let file: ResidentFile?
        let received: [ReceivedFile]
        let acting = try MunicipalityCode(session.code)
        do throws(NodeError) {
            tenant = try store.tenant(acting)
            file = try tenant.residentFile(number: number)
            received = try tenant.receivedFiles(number: number)
        } catch {
            throw RPCError(code: .internalError, message: error.description)
        }
        answer.found = file != nil || !received.isEmpty
        answer.auditSequence = try gate.record(session, .residentViewed, answer.found ? .match : .notFound,
                                               numberIndex: tenant.numberIndexHex(number))
        if answer.found {
            answer.report = (file.map { ResidentReport.render($0, tenant: tenant.info) }
                ?? "municipality  \(tenant.info.code) \(tenant.info.name)\nno resident registered with this 個人番号")
                + "\n\n" + ResidentReport.renderReceived(received)
        }
        return answer
    }

    public func residentDelete(request: Renkei_Admin_V1_ResidentDeleteRequest, context: ServerContext) async throws -> Renkei_Admin_V1_ResidentDeleteResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .deleteResident)
        let number = try Self.individualNumber(request.individualNumber)
        let acting = try MunicipalityCode(session.code)
        let tenant: TenantPartition
        let deletion: ResidentDeletion
        do throws(NodeError) {
            tenant = try store.tenant(acting)
            deletion = try tenant.deleteResident(number: number)
        } catch {
            throw RPCError(code: error.code == .invalidArgument ? .failedPrecondition : .internalError, message: error.description)
        }
        var answer = Renkei_Admin_V1_ResidentDeleteResponse()
        answer.found = !deletion.isEmpty
        answer.vaccinationsDeleted = UInt32(clamping: deletion.vaccinationsDeleted)
        answer.receivedFilesDeleted = UInt32(clamping: deletion.receivedFilesDeleted)
        answer.auditSequence = try gate.record(session, .residentDeleted, deletion.isEmpty ? .notFound : .ok,
                                               numberIndex: tenant.numberIndexHex(number),
                                               detail: "resident=\(deletion.residentDeleted ? 1 : 0) vaccinations=\(deletion.vaccinationsDeleted) received-files=\(deletion.receivedFilesDeleted)")
        return answer
    }

    /// `individual_number` checked by the contract's rule.
    static func individualNumber(_ text: String) throws(RPCError) -> IndividualNumber {
        do throws(BrokenRule) {
            return try InquiryRules.individualNumber(text, field: "individual_number")
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
    }

    public func tenantDelete(request: Renkei_Admin_V1_TenantDeleteRequest, context: ServerContext) async throws -> Renkei_Admin_V1_TenantDeleteResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .deleteTenant)
        guard request.confirmCode == session.code else {
            throw RPCError(code: .invalidArgument, message: "confirm_code: must repeat the code \(session.code) exactly; nothing was deleted")
        }
        let code = try MunicipalityCode(session.code)
        do throws(NodeError) {
            try store.deleteTenant(code)
            onTenantsChanged()
        } catch {
            try gate.record(session, .tenantDeleted, .error, detail: "reason=\(error.code)")
            throw RPCError(code: .internalError, message: error.description)
        }
        var answer = Renkei_Admin_V1_TenantDeleteResponse()
        answer.auditSequence = try gate.record(session, .tenantDeleted, .ok, detail: "keys=destroyed")
        // Nobody acts for a municipality that is gone; its operation log stays.
        var disabled: UInt32 = 0
        for account in gate.accounts.accounts(code: session.code) where account.disabledAt == nil {
            if (try? gate.accounts.disable(login: account.login, code: session.code, reason: "tenant deleted", now: gate.now)) != nil {
                disabled += 1
            }
            _ = gate.sessions.closeAll(login: account.login)
        }
        answer.accountsDisabled = disabled
        return answer
    }

    // MARK: Auditors

    public func auditExport(request: Renkei_Admin_V1_AuditExportRequest, response: RPCWriter<Renkei_Admin_V1_AuditExportChunk>,
                            context: ServerContext) async throws {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .readAudit)
        let from = request.fromUnixMillis == 0 ? nil : Date(timeIntervalSince1970: Double(request.fromUnixMillis) / 1000)
        let to = request.toUnixMillis == 0 ? nil : Date(timeIntervalSince1970: Double(request.toUnixMillis) / 1000)
        let code = try MunicipalityCode(session.code)
        let store = self.store
        let export: AuditExport
        do {
            export = try await NIOThreadPool.singleton.runIfActive { () throws -> AuditExport in
                do throws(NodeError) { return try store.exportAudit(code, from: from, to: to) } catch { throw error }
            }
        } catch let error as NodeError {
            throw RPCError(code: .internalError, message: error.description)
        }
        try gate.record(session, .auditExported, export.problem == nil ? .ok : .error,
                        detail: "entries=\(export.entries.count)\(export.problem == nil ? "" : " chain=broken")")
        let bytes = export.csv()
        var offset = 0
        repeat {
            var chunk = Renkei_Admin_V1_AuditExportChunk()
            if offset == 0 {
                chunk.entries = UInt64(export.entries.count)
                chunk.verified = export.problem == nil
                chunk.problem = export.problem.map { "\($0)" } ?? ""
            }
            let end = min(offset + Self.chunkBytes, bytes.count)
            chunk.data = Data(bytes[offset..<end])
            try await response.write(chunk)
            offset = end
        } while offset < bytes.count
    }

    public func assessmentFigures(request: Renkei_Admin_V1_AssessmentFiguresRequest, context: ServerContext) async throws -> Renkei_Admin_V1_AssessmentFiguresResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .reviewUsers)
        let code = try MunicipalityCode(session.code)
        var answer = Renkei_Admin_V1_AssessmentFiguresResponse()
        do throws(NodeError) {
            let tenant = try store.tenant(code)
            let counts = try tenant.counts()
            answer.code = code.rawValue
            answer.name = tenant.info.name
            answer.residents = UInt64(counts.residents)
            answer.vaccinations = UInt64(counts.vaccinations)
            answer.receivedFiles = UInt64(counts.receivedFiles)
            answer.tenantsOnNode = UInt32(store.tenants.count)
        } catch {
            throw RPCError(code: .internalError, message: error.description)
        }
        let rows = gate.accounts.review(code: code.rawValue, now: gate.now)
        for row in rows where row.account.disabledAt == nil {
            for role in row.account.roles { answer.accountsByRole[role.rawValue, default: 0] += 1 }
        }
        answer.accountsEnabled = UInt32(rows.filter { $0.account.disabledAt == nil }.count)
        answer.accountsDisabled = UInt32(rows.filter { $0.account.disabledAt != nil }.count)
        answer.accountsDormant = UInt32(rows.filter { $0.dormant && $0.account.disabledAt == nil }.count)
        answer.accountsShared = UInt32(rows.filter { $0.account.isShared && $0.account.disabledAt == nil }.count)
        let store = self.store
        if let export = try? await NIOThreadPool.singleton.runIfActive({ () throws -> AuditExport in
            do throws(NodeError) { return try store.exportAudit(code, from: nil, to: nil) } catch { throw error }
        }), let last = export.entries.last(where: { $0.event == .accountsReviewed }) {
            answer.lastReviewUnixMillis = Self.unixMillis(auditTime: last.time)
        }
        answer.backupSite = config.vault.map { "\($0.host):\($0.port)" } ?? ""
        answer.backupMode = config.vault.map { "\($0.mode)" } ?? ""
        answer.encryption = "AES-256-GCM per record under per-municipality data keys wrapped by the node master key; numbers indexed by HMAC-SHA256 blind index; backups ciphertext only; peer and vault links mutual TLS 1.3"
        answer.recordItems = ResidentCSVFormat.columns + VaccinationCSVFormat.columns.filter { $0 != VaccinationCSVFormat.addressNumber }
        try gate.record(session, .assessmentReported, .ok)
        return answer
    }
}

extension RecordsService {
    /// An audit entry's `YYYY-MM-DDTHH:MM:SS.mmmZ` as unix milliseconds (0 if unreadable).
    static func unixMillis(auditTime: String) -> UInt64 {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return format.date(from: auditTime).map { UInt64(max(0, $0.timeIntervalSince1970 * 1000)) } ?? 0
    }
}

/// A file in /dev/shm (memory, not disk), 0600, removed when done. Used by
/// one call's task only.
final class MemoryFile {
    let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }

    /// Creates and opens a new file for writing.
    static func create(prefix: String) throws(RPCError) -> MemoryFile {
        let path = "\(RecordsService.memoryDirectory)/\(prefix)-\(UUID().uuidString)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw RPCError(code: .internalError, message: "cannot create a memory file in \(RecordsService.memoryDirectory): \(String(cString: strerror(errno)))")
        }
        return MemoryFile(path: path, fd: fd)
    }

    /// A fresh name for a writer that creates the file itself.
    static func reserve(prefix: String) throws(RPCError) -> MemoryFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: RecordsService.memoryDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RPCError(code: .failedPrecondition, message: "\(RecordsService.memoryDirectory) is missing: the node keeps exports in memory there")
        }
        return MemoryFile(path: "\(RecordsService.memoryDirectory)/\(prefix)-\(UUID().uuidString).csv", fd: -1)
    }

    func write(_ data: Data) throws(RPCError) {
        let fd = self.fd
        let ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        guard ok else {
            throw RPCError(code: .resourceExhausted, message: "cannot hold the upload in memory (\(String(cString: strerror(errno)))); nothing was stored")
        }
    }

    func close() throws(RPCError) {
        guard fd >= 0 else { return }
        let result = Glibc.close(fd)
        fd = -1
        guard result == 0 else {
            throw RPCError(code: .internalError, message: "cannot close the memory file: \(String(cString: strerror(errno)))")
        }
    }

    /// Closes the file if open and removes its name.
    func remove() {
        try? close()
        unlink(path)
    }
}
