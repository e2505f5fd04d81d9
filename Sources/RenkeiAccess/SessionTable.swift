import Crypto
import Foundation
import RenkeiCrypto
import Synchronization

/// A logged-in operator: who, for which municipality, with which roles, from where.
///
/// Roles are copied at login; a change to the account takes effect at the
/// next login (disabling an account should also `closeAll(login:)`).
public struct Session: Sendable, Equatable {
    public let login: String
    /// The municipality the account belongs to; the only one it acts for.
    public let code: String
    public let roles: Set<Role>
    public let terminal: String
    public let openedAt: Date
    /// The last time a check found it valid (or `openedAt`).
    public var lastSeenAt: Date

    public init(login: String, code: String, roles: Set<Role>, terminal: String, openedAt: Date, lastSeenAt: Date) {
        self.login = login
        self.code = code
        self.roles = roles
        self.terminal = terminal
        self.openedAt = openedAt
        self.lastSeenAt = lastSeenAt
    }
}

/// The result of `SessionTable.check`.
public enum SessionCheck: Sendable, Equatable {
    /// Valid; `lastSeenAt` is now the time of this check.
    case valid(Session)
    /// Unused for more than `sessionIdleSeconds`; it is gone, log in again.
    case expiredIdle
    /// Older than `sessionLifetimeSeconds`; it is gone, log in again.
    case expiredLifetime
    /// No such session (never opened, closed, or expired and already removed).
    case unknown
}

/// The node's live operator sessions, in memory only: a node restart logs
/// everyone out, which is the safe direction.
///
/// A session is named by a bearer token the client keeps; the table keeps
/// only the token's SHA-256, so a memory dump of the table does not yield
/// usable tokens. Thread safety: one `Mutex` around the table.
public final class SessionTable: Sendable {
    private let sessions = Mutex<[[UInt8]: Session]>([:])
    private let policy: AccountPolicy

    /// An empty table with `policy`'s idle time, lifetime and bound.
    public init(policy: AccountPolicy) {
        self.policy = policy
    }

    /// A fresh 32-byte random token, hex (64 chars); the table keeps only its SHA-256. tooManySessions when full
    /// (after first dropping expired ones).
    ///
    /// The caller passes an account that has just logged in
    /// (`LoginResult.success`) and the terminal it logged in from.
    public func open(_ account: Account, terminal: String, now: Date) throws(AccessError) -> String {
        var raw = randomBytes(32)
        defer { wipe(&raw) }
        let token = hexEncode(raw)
        let digest = Self.digest(token)
        let session = Session(login: account.login, code: account.code, roles: account.roles, terminal: terminal,
                              openedAt: now, lastSeenAt: now)
        let policy = self.policy
        try sessions.withLock { (table: inout [[UInt8]: Session]) throws(AccessError) in
            if table.count >= policy.maxSessions {
                table = table.filter { Self.expiry(of: $0.value, now: now, policy: policy) == nil }
            }
            guard table.count < policy.maxSessions else {
                throw AccessError(.tooManySessions,
                    "the node already has \(policy.maxSessions) open sessions, the most it keeps; try again when some end")
            }
            table[digest] = session
        }
        return token
    }

    /// valid → lastSeenAt = now; expired ones are removed.
    ///
    /// The lifetime is checked before the idle time, so a session past both
    /// reports `.expiredLifetime`. Anything that is not 64 hex characters is `.unknown`.
    public func check(_ token: String, now: Date) -> SessionCheck {
        guard Self.isWellFormed(token) else { return .unknown }
        let digest = Self.digest(token)
        let policy = self.policy
        return sessions.withLock { table in
            guard var session = table[digest] else { return .unknown }
            if let expired = Self.expiry(of: session, now: now, policy: policy) {
                table[digest] = nil
                return expired
            }
            session.lastSeenAt = now
            table[digest] = session
            return .valid(session)
        }
    }

    /// Ends the session (logout); returns it, or nil if there was none.
    public func close(_ token: String) -> Session? {
        guard Self.isWellFormed(token) else { return nil }
        let digest = Self.digest(token)
        return sessions.withLock { $0.removeValue(forKey: digest) }
    }

    /// Ends every session of `login` (used when an account is disabled); returns how many.
    public func closeAll(login: String) -> Int {
        sessions.withLock { table in
            let before = table.count
            table = table.filter { $0.value.login != login }
            return before - table.count
        }
    }

    /// Sessions held, including expired ones not yet removed.
    public var count: Int {
        sessions.withLock { $0.count }
    }

    private static func expiry(of session: Session, now: Date, policy: AccountPolicy) -> SessionCheck? {
        if now.timeIntervalSince(session.openedAt) > Double(policy.sessionLifetimeSeconds) { return .expiredLifetime }
        if now.timeIntervalSince(session.lastSeenAt) > Double(policy.sessionIdleSeconds) { return .expiredIdle }
        return nil
    }

    private static func isWellFormed(_ token: String) -> Bool {
        let bytes = Array(token.utf8)
        return bytes.count == 64 && bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func digest(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }
}
