import Foundation
import GRPCCore
import Logging
import NIOPosix
import RenkeiAudit
import RenkeiCore
import RenkeiTenantStore
import RenkeiWire

/// `renkei.admin.v1.TenantKeys`: data-key rotation of the acting
/// municipality and its progress. The rotation only starts the work; the
/// node's `TenantReencrypter` re-seals older records in the background.
public struct KeyService: Renkei_Admin_V1_TenantKeys.SimpleServiceProtocol {
    let gate: AccessGate
    let store: NodeStore
    let logger: Logger

    public init(gate: AccessGate, store: NodeStore, logger: Logger) {
        self.gate = gate
        self.store = store
        self.logger = logger
    }

    public func keyRotateTenant(request: Renkei_Admin_V1_KeyRotateTenantRequest, context: ServerContext) async throws -> Renkei_Admin_V1_KeyRotateTenantResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .rotateTenantKey)
        let code = try MunicipalityCode(session.code)
        let store = self.store
        let rotation: DataKeyRotation
        do {
            rotation = try await NIOThreadPool.singleton.runIfActive { () throws -> DataKeyRotation in
                do throws(NodeError) { return try store.rotateTenantDataKey(code) } catch { throw error }
            }
        } catch let error as NodeError {
            try gate.record(session, .dataKeyRotated, .error, detail: "reason=\(error.code)")
            throw RPCError(code: error.code == .invalidArgument ? .failedPrecondition : .internalError, message: error.description)
        }
        var answer = Renkei_Admin_V1_KeyRotateTenantResponse()
        answer.previousVersion = rotation.previousVersion
        answer.newVersion = rotation.newVersion
        answer.keyringFingerprint = rotation.keyringFingerprint
        answer.auditSequence = try gate.record(session, .dataKeyRotated, .ok,
                                               detail: "from-version=\(rotation.previousVersion) to-version=\(rotation.newVersion) keyring=\(rotation.keyringFingerprint)")
        return answer
    }

    public func keyStatus(request: Renkei_Admin_V1_KeyStatusRequest, context: ServerContext) async throws -> Renkei_Admin_V1_KeyStatusResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .keyStatus)
        let code = try MunicipalityCode(session.code)
        let store = self.store
        let status: TenantKeyStatus
        do {
            status = try await NIOThreadPool.singleton.runIfActive { () throws -> TenantKeyStatus in
                do throws(NodeError) { return try store.keyStatus(code) } catch { throw error }
            }
        } catch let error as NodeError {
            throw RPCError(code: .internalError, message: error.description)
        }
        return Self.response(status)
    }

    /// The wire form of a tenant's key status.
    public static func response(_ status: TenantKeyStatus) -> Renkei_Admin_V1_KeyStatusResponse {
        var answer = Renkei_Admin_V1_KeyStatusResponse()
        answer.code = status.code.rawValue
        answer.currentVersion = status.currentVersion
        answer.versionsHeld = status.versionsHeld
        answer.records = status.recordsByVersion.keys.sorted().map { version in
            var row = Renkei_Admin_V1_KeyVersionRecords()
            row.version = version
            row.records = UInt64(status.recordsByVersion[version]!)
            return row
        }
        answer.recordsRemaining = UInt64(status.recordsRemaining)
        answer.recordsTotal = UInt64(status.recordsTotal)
        answer.reencryptionPending = status.reencryption != nil
        answer.recordsResealed = UInt64(status.reencryption?.resealed ?? 0)
        answer.rotationStartedAt = status.reencryption?.startedAt ?? ""
        answer.keyringFingerprint = status.keyringFingerprint
        return answer
    }
}
