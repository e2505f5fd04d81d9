import Foundation
import GRPCCore
import Logging
import NIOPosix
import RenkeiAccess
import RenkeiAudit
import RenkeiCore
import RenkeiWire

/// `renkei.admin.v1.Access`: operator login, logout and account management
/// on the admin socket. Every login, failed login, logout and account change
/// is written to the operation log of the account's municipality.
public struct AccessService: Renkei_Admin_V1_Access.SimpleServiceProtocol {
    let gate: AccessGate
    let logger: Logger

    public init(gate: AccessGate, logger: Logger) {
        self.gate = gate
        self.logger = logger
    }

    /// One answer for every failed login, so a caller learns nothing about
    /// which part was wrong; the reason is in the operation log.
    static let loginFailedMessage = "login failed: the login, password or one-time code is wrong, or the account cannot log in now (disabled, unused too long, locked after repeated failures, or not allowed at this terminal); ask an administrator of your municipality"

    public func login(request: Renkei_Admin_V1_LoginRequest, context: ServerContext) async throws -> Renkei_Admin_V1_LoginResponse {
        guard Self.isTerminalName(request.terminal) else {
            throw RPCError(code: .invalidArgument, message: "terminal: must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        }
        guard !request.login.isEmpty, request.login.utf8.count <= 64, request.password.utf8.count <= PasswordHash.maximumPasswordBytes,
              request.totp.utf8.count <= 10 else {
            throw RPCError(code: .unauthenticated, message: Self.loginFailedMessage)
        }
        let gate = self.gate
        let now = gate.now
        // scrypt is slow and memory-hard on purpose: keep it off the cooperative pool.
        let result = try await NIOThreadPool.singleton.runIfActive {
            gate.accounts.login(login: request.login, password: request.password, totp: request.totp, terminal: request.terminal, now: now)
        }
        switch result {
        case .success(let account):
            let token: String
            do throws(AccessError) {
                token = try gate.sessions.open(account, terminal: request.terminal, now: now)
            } catch {
                throw RPCError(code: .resourceExhausted, message: "sessions: \(error.message)")
            }
            do {
                _ = try gate.append(code: account.code, login: account.login, terminal: request.terminal, .login, .ok)
            } catch {
                // A login the operation log cannot record does not happen.
                _ = gate.sessions.close(token)
                logger.error("operation log write failed", metadata: ["tenant": "\(account.code)", "error": "\(error)"])
                throw RPCError(code: .internalError, message: "the operation log of municipality \(account.code) could not be written; see the node log")
            }
            logger.notice("operator logged in", metadata: ["tenant": "\(account.code)", "account": "\(account.login)"])
            var answer = Renkei_Admin_V1_LoginResponse()
            answer.session = token
            answer.code = account.code
            answer.roles = account.roles.sorted().map(\.rawValue)
            answer.idleSeconds = UInt32(gate.settings.sessionIdleSeconds)
            answer.lifetimeSeconds = UInt32(gate.settings.sessionLifetimeSeconds)
            return answer
        case .denied(let reason, let account):
            if let account {
                do {
                    try gate.append(code: account.code, login: account.login, terminal: request.terminal, .loginFailed, .denied,
                                    detail: "reason=\(reason.rawValue) failures=\(account.failedLogins)")
                } catch {
                    logger.error("operation log write failed", metadata: ["tenant": "\(account.code)", "error": "\(error)"])
                }
                logger.warning("operator login refused", metadata: [
                    "tenant": "\(account.code)", "account": "\(account.login)", "reason": "\(reason.rawValue)",
                ])
            } else {
                // The typed login is not logged: it may be a password typed in the wrong field.
                logger.warning("operator login refused", metadata: ["reason": "\(reason.rawValue)"])
            }
            throw RPCError(code: .unauthenticated, message: Self.loginFailedMessage)
        }
    }

    public func logout(request: Renkei_Admin_V1_LogoutRequest, context: ServerContext) async throws -> Renkei_Admin_V1_LogoutResponse {
        let session = try gate.session(request.session)
        _ = gate.sessions.close(request.session)
        try gate.record(session, .logout, .ok)
        return Renkei_Admin_V1_LogoutResponse()
    }

    public func userAdd(request: Renkei_Admin_V1_UserAddRequest, context: ServerContext) async throws -> Renkei_Admin_V1_UserAddResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .manageUsers)
        var roles = Set<Role>()
        for name in request.roles {
            guard let role = Role(rawValue: name) else {
                throw RPCError(code: .invalidArgument,
                               message: "roles: \(name.prefix(32)) is not a role; roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            roles.insert(role)
        }
        let new = NewAccount(login: request.login, code: session.code, roles: roles, people: request.people,
                             terminals: request.terminals, password: request.password)
        let gate = self.gate
        let now = gate.now
        let account: Account
        do {
            account = try await NIOThreadPool.singleton.runIfActive { () throws -> Account in
                do throws(AccessError) { return try gate.accounts.add(new, now: now) } catch { throw error }
            }
        } catch let error as AccessError {
            let code: RPCError.Code = switch error.code {
            case .accountExists: .alreadyExists
            case .invalidField, .weakPassword: .invalidArgument
            default: .internalError
            }
            try gate.record(session, .accountAdded, .error, detail: "reason=\(error.code.rawValue)")
            throw RPCError(code: code, message: error.message)
        }
        try gate.record(session, .accountAdded, .ok,
                        detail: "login=\(account.login) roles=\(account.roles.sorted().map(\.rawValue).joined(separator: ",")) people=\(account.people.count) terminals=\(account.terminals.count)")
        var answer = Renkei_Admin_V1_UserAddResponse()
        answer.login = account.login
        answer.totpSecretBase32 = TOTP.base32(account.totpSecret)
        answer.provisioningUri = TOTP.provisioningURI(secret: account.totpSecret, account: "\(account.login)@\(account.code)", issuer: "Renkei")
        return answer
    }

    public func userDisable(request: Renkei_Admin_V1_UserDisableRequest, context: ServerContext) async throws -> Renkei_Admin_V1_UserDisableResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .manageUsers)
        guard (1...200).contains(request.reason.utf8.count), !request.reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RPCError(code: .invalidArgument, message: "reason: must be 1-200 bytes without control characters")
        }
        let account: Account
        do throws(AccessError) {
            account = try gate.accounts.disable(login: request.login, code: session.code, reason: request.reason, now: gate.now)
        } catch {
            throw RPCError(code: error.code == .accountNotFound ? .notFound : .internalError, message: error.message)
        }
        let closed = gate.sessions.closeAll(login: account.login)
        // The reason last, as the operator wrote it (checked above: bounded, one
        // line); the help and runbook 06 say it must name no person.
        try gate.record(session, .accountDisabled, .ok, detail: "login=\(account.login) sessions-closed=\(closed) reason=\(request.reason)")
        var answer = Renkei_Admin_V1_UserDisableResponse()
        answer.sessionsClosed = UInt32(closed)
        return answer
    }

    public func userList(request: Renkei_Admin_V1_UserListRequest, context: ServerContext) async throws -> Renkei_Admin_V1_UserListResponse {
        let session = try gate.authorize(session: request.session, acting: request.actingCode, .reviewUsers)
        let rows = gate.accounts.review(code: session.code, now: gate.now)
        var answer = Renkei_Admin_V1_UserListResponse()
        answer.dormantDays = UInt32(gate.settings.dormantDays)
        answer.users = rows.map { row in
            var wire = Renkei_Admin_V1_UserRow()
            let a = row.account
            wire.login = a.login
            wire.roles = a.roles.sorted().map(\.rawValue)
            wire.people = a.people
            wire.terminals = a.terminals
            wire.createdUnixMillis = Self.millis(a.createdAt)
            wire.lastLoginUnixMillis = a.lastLoginAt.map(Self.millis) ?? 0
            wire.disabled = a.disabledAt != nil
            wire.disabledReason = a.disabledReason ?? ""
            wire.dormant = row.dormant
            wire.locked = row.locked
            wire.shared = a.isShared
            return wire
        }
        if request.review {
            let dormant = rows.filter(\.dormant).count
            let shared = rows.filter { $0.account.isShared }.count
            let disabled = rows.filter { $0.account.disabledAt != nil }.count
            answer.reviewAuditSequence = try gate.record(session, .accountsReviewed, .ok,
                                                         detail: "accounts=\(rows.count) dormant=\(dormant) shared=\(shared) disabled=\(disabled)")
        }
        return answer
    }

    static func millis(_ date: Date) -> UInt64 { UInt64(max(0, date.timeIntervalSince1970 * 1000)) }

    /// 1-64 characters of A-Z a-z 0-9 . _ : -
    static func isTerminalName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x3A || b == 0x2D
        }
    }
}
