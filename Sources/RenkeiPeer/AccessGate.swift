import Foundation
import GRPCCore
import Logging
import RenkeiAccess
import RenkeiAudit
import RenkeiCore
import RenkeiTenantStore

/// The operator-account settings of a node (`access` in the node
/// configuration). Every key is optional; the defaults are the assessment's.
public struct AccessSettings: Sendable, Codable, Equatable {
    /// A session ends after this long without a call.
    public var sessionIdleSeconds: Int
    /// …and this long after login, whatever its use.
    public var sessionLifetimeSeconds: Int
    /// Consecutive failed logins that lock an account…
    public var maxFailedLogins: Int
    /// …for this long.
    public var lockoutSeconds: Int
    /// An account unused this long cannot log in until an administrator re-creates it.
    public var dormantDays: Int
    /// Largest CSV a clerk may upload through the admin socket.
    public var importBytesMax: Int

    public init(sessionIdleSeconds: Int = 900, sessionLifetimeSeconds: Int = 28_800, maxFailedLogins: Int = 5,
                lockoutSeconds: Int = 900, dormantDays: Int = 90, importBytesMax: Int = 512 * 1024 * 1024) {
        self.sessionIdleSeconds = sessionIdleSeconds
        self.sessionLifetimeSeconds = sessionLifetimeSeconds
        self.maxFailedLogins = maxFailedLogins
        self.lockoutSeconds = lockoutSeconds
        self.dormantDays = dormantDays
        self.importBytesMax = importBytesMax
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AccessSettings()
        sessionIdleSeconds = try c.decodeIfPresent(Int.self, forKey: .sessionIdleSeconds) ?? d.sessionIdleSeconds
        sessionLifetimeSeconds = try c.decodeIfPresent(Int.self, forKey: .sessionLifetimeSeconds) ?? d.sessionLifetimeSeconds
        maxFailedLogins = try c.decodeIfPresent(Int.self, forKey: .maxFailedLogins) ?? d.maxFailedLogins
        lockoutSeconds = try c.decodeIfPresent(Int.self, forKey: .lockoutSeconds) ?? d.lockoutSeconds
        dormantDays = try c.decodeIfPresent(Int.self, forKey: .dormantDays) ?? d.dormantDays
        importBytesMax = try c.decodeIfPresent(Int.self, forKey: .importBytesMax) ?? d.importBytesMax
    }

    /// The first rule broken, naming the key; nil if all hold.
    public func brokenRule() -> String? {
        if !(60...86_400).contains(sessionIdleSeconds) { return "access.sessionIdleSeconds: must be 60 to 86400" }
        if !(sessionIdleSeconds...604_800).contains(sessionLifetimeSeconds) {
            return "access.sessionLifetimeSeconds: must be at least sessionIdleSeconds and at most 604800"
        }
        if !(1...100).contains(maxFailedLogins) { return "access.maxFailedLogins: must be 1 to 100" }
        if !(1...86_400).contains(lockoutSeconds) { return "access.lockoutSeconds: must be 1 to 86400" }
        if !(1...3650).contains(dormantDays) { return "access.dormantDays: must be 1 to 3650" }
        if !(1...(16 << 30)).contains(importBytesMax) { return "access.importBytesMax: must be 1 byte to 16 GiB" }
        return nil
    }

    /// The account policy these settings give.
    public var policy: AccountPolicy {
        var p = AccountPolicy()
        p.sessionIdleSeconds = sessionIdleSeconds
        p.sessionLifetimeSeconds = sessionLifetimeSeconds
        p.maxFailedLogins = maxFailedLogins
        p.lockoutSeconds = lockoutSeconds
        p.dormantDays = dormantDays
        return p
    }
}

/// Decides, for every admin call, whether its session may do the operation
/// as the acting municipality, and writes every refusal to the operation
/// log. The one place the admin services ask: a handler that skipped it
/// would show up in `AdminAccessTests.roleMatrix`.
public final class AccessGate: Sendable {
    public let accounts: AccountBook
    public let sessions: SessionTable
    public let settings: AccessSettings
    let store: NodeStore
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(accounts: AccountBook, settings: AccessSettings, store: NodeStore, logger: Logger,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.accounts = accounts
        self.sessions = SessionTable(policy: settings.policy)
        self.settings = settings
        self.store = store
        self.logger = logger
        self.clock = clock
    }

    /// The accounts of a node data directory (`DATA/access/`).
    public static func accountsDirectory(dataDirectory: String) -> String { dataDirectory + "/access" }

    public var now: Date { clock() }

    /// The session behind `token`, if it may do `operation` as `actingCode`.
    ///
    /// - Throws: UNAUTHENTICATED (no, unknown or ended session),
    ///   INVALID_ARGUMENT (acting_code breaks its rule), PERMISSION_DENIED
    ///   (another municipality, a tenant no longer hosted, or a role that does
    ///   not allow the operation; each refusal is logged).
    public func authorize(session token: String, acting actingCode: String, _ operation: RenkeiAccess.Operation) throws(RPCError) -> Session {
        let session = try self.session(token)
        let acting: MunicipalityCode
        do throws(BrokenRule) {
            acting = try InquiryRules.code(actingCode, field: "acting_code")
        } catch {
            throw RPCError(code: .invalidArgument, message: error.message)
        }
        guard acting.rawValue == session.code else {
            refuse(session, operation, target: acting, why: "as another municipality")
            throw RPCError(code: .permissionDenied,
                           message: "acting_code: account \(session.login) belongs to municipality \(session.code) and cannot act for \(acting)")
        }
        guard store.hosts(acting) else {
            refuse(session, operation, target: nil, why: "tenant not hosted")
            throw RPCError(code: .permissionDenied, message: "acting_code: this node does not host municipality \(acting)")
        }
        guard PermissionMatrix.allows(session.roles, operation) else {
            refuse(session, operation, target: nil, why: "role")
            let roles = session.roles.sorted().map(\.rawValue).joined(separator: ", ")
            let needed = PermissionMatrix.roles(allowing: operation).map(\.rawValue).joined(separator: " or ")
            throw RPCError(code: .permissionDenied,
                           message: "\(operation.rawValue): account \(session.login) (\(roles)) may not do this; it needs the role \(needed)")
        }
        return session
    }

    /// The live session behind `token`, without an operation check (Logout).
    public func session(_ token: String) throws(RPCError) -> Session {
        guard !token.isEmpty else {
            throw RPCError(code: .unauthenticated, message: "session: log in first (renkei login --node DIR)")
        }
        switch sessions.check(token, now: now) {
        case .valid(let session):
            return session
        case .expiredIdle:
            throw RPCError(code: .unauthenticated,
                           message: "session: ended after \(settings.sessionIdleSeconds / 60) minutes without use; log in again")
        case .expiredLifetime:
            throw RPCError(code: .unauthenticated,
                           message: "session: ended after its lifetime of \(settings.sessionLifetimeSeconds / 3600) hours; log in again")
        case .unknown:
            throw RPCError(code: .unauthenticated, message: "session: unknown or ended (logged out, or the node restarted); log in again")
        }
    }

    /// Appends an entry for `session` to its municipality's operation log.
    ///
    /// - Throws: INTERNAL if the log cannot be written: an operation whose
    ///   record cannot be kept is reported as failed.
    @discardableResult
    public func record(_ session: Session, _ event: AuditEvent, _ outcome: AuditOutcome, numberIndex: String? = nil,
                       requestID: String? = nil, target: MunicipalityCode? = nil, detail: String? = nil) throws(RPCError) -> UInt64 {
        do {
            return try append(code: session.code, login: session.login, terminal: session.terminal, event, outcome,
                              numberIndex: numberIndex, requestID: requestID, target: target, detail: detail)
        } catch {
            logger.error("operation log write failed", metadata: ["tenant": "\(session.code)", "event": "\(event)", "error": "\(error)"])
            throw RPCError(code: .internalError, message: "the operation log of municipality \(session.code) could not be written; see the node log")
        }
    }

    /// Appends an entry for an account that has no session (a failed login).
    func append(code: String, login: String?, terminal: String?, _ event: AuditEvent, _ outcome: AuditOutcome,
                numberIndex: String? = nil, requestID: String? = nil, target: MunicipalityCode? = nil,
                detail: String? = nil) throws -> UInt64 {
        let municipality = try MunicipalityCode(code)
        var entry = AuditRecord(event: event, outcome: outcome, requestID: requestID, targetCode: target,
                                numberIndex: numberIndex, detail: detail)
        entry.actor = login
        entry.terminal = terminal
        return try store.auditLog(municipality).append(entry).seq
    }

    private func refuse(_ session: Session, _ operation: RenkeiAccess.Operation, target: MunicipalityCode?, why: String) {
        do {
            _ = try append(code: session.code, login: session.login, terminal: session.terminal, .permissionDenied, .denied,
                       target: target, detail: "operation=\(operation.rawValue) reason=\(why)")
        } catch {
            logger.error("operation log write failed", metadata: ["tenant": "\(session.code)", "error": "\(error)"])
        }
        logger.warning("admin call refused", metadata: [
            "tenant": "\(session.code)", "account": "\(session.login)", "operation": "\(operation.rawValue)", "reason": "\(why)",
        ])
    }
}

extension AuditOperator {
    /// The operator of an admin call's session.
    init(_ session: Session) {
        self.init(login: session.login, terminal: session.terminal)
    }
}
