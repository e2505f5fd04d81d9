import RenkeiAudit
import RenkeiCore
import RenkeiTenantStore

/// What marking a move-out did, and its audit entry.
public struct MoveOutResult: Sendable {
    public let outcome: MoveMarkOutcome
    /// The audit entry that records it.
    public let auditEntry: AuditEntry
}

/// 転出: sets a resident's moved-out flag in its municipality's tenant and
/// records it in that tenant's audit log (the number's blind index, never the
/// number). The resident and their records stay: the municipality still
/// answers inquiries about them. Used by the admin endpoint and by the CLI
/// when no node runs.
public enum MoveOut {
    /// Marks and audits. The log is opened before the change, so a log that
    /// cannot be written stops the change instead of leaving it unrecorded.
    public static func mark(store: NodeStore, code: MunicipalityCode, number: IndividualNumber,
                            to destination: MunicipalityCode, on date: LocalDate) throws(PeerError) -> MoveOutResult {
        let tenant: TenantPartition
        let log: AuditLog
        do throws(NodeError) {
            tenant = try store.tenant(code)
            log = try store.auditLog(code)
        } catch {
            throw PeerError(error.code == .tenantNotFound ? .invalidInput : .storage, error.description, cause: error)
        }
        var entry = AuditRecord(event: .movedOutMarked, outcome: .error, targetCode: destination,
                                numberIndex: tenant.numberIndexHex(number), detail: "on \(date.iso)")
        let outcome: MoveMarkOutcome
        do throws(NodeError) {
            outcome = try tenant.markMovedOut(number: number, to: destination, on: date)
        } catch {
            entry.outcome = error.code == .invalidArgument ? .invalidArgument : .error
            _ = try append(entry, to: log)
            throw PeerError(error.code == .invalidArgument ? .invalidInput : .storage, error.description, cause: error)
        }
        entry.outcome = switch outcome {
        case .notFound: .notFound
        case .alreadyMarked: .alreadyMarked
        case .marked: .marked
        }
        return MoveOutResult(outcome: outcome, auditEntry: try append(entry, to: log))
    }

    private static func append(_ entry: AuditRecord, to log: AuditLog) throws(PeerError) -> AuditEntry {
        do throws(AuditError) {
            return try log.append(entry)
        } catch {
            throw PeerError(.storage, "the audit entry could not be written: \(error.description)", cause: error)
        }
    }
}
