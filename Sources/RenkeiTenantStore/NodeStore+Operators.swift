import Foundation
import RenkeiAccess
import RenkeiAudit
import RenkeiCore

extension NodeStore {
    /// The operator accounts of this node (`DATA/access/accounts.sealed`),
    /// sealed under a key derived from the node's master key.
    public func openAccountBook(policy: AccountPolicy = AccountPolicy()) throws(AccessError) -> AccountBook {
        try AccountBook.open(directory: directory.root + "/access", masterKey: masterKey, policy: policy)
    }

    /// Municipality `code`'s operation log between `from` (inclusive) and
    /// `to` (exclusive), the whole log verified while read. Does not take the
    /// writer's lock, so the node keeps appending meanwhile.
    public func exportAudit(_ code: MunicipalityCode, from: Date?, to: Date?) throws(NodeError) -> AuditExport {
        // Opening creates an empty log for a tenant that has none yet, so a
        // new tenant exports nothing rather than failing.
        _ = try auditLog(code)
        do throws(AuditError) {
            return try AuditLogs.export(directory: auditLogs.directory, code: code, masterKey: masterKey, from: from, to: to)
        } catch {
            throw NodeError(.storage, "audit log of municipality \(code): \(error.message)", cause: error)
        }
    }
}
