import Foundation
import RenkeiCore

/// One operator account of a municipality on this node.
///
/// Logins are unique per node. An account acts only for its municipality
/// (`code`); callers check that against the tenant of every operation.
/// Its `description` and mirror never show the password hash, the TOTP
/// secret or the people's names.
public struct Account: Sendable, Codable, Equatable {
    /// 3–32 characters of a-z 0-9 . _ -, starting with a letter.
    public let login: String
    /// The municipality (6 digits, check digit valid) it belongs to; it never acts for another.
    public let code: String
    /// At least one.
    public var roles: Set<Role>
    /// The person(s) who use it; two or more make a shared ID. Each 1–64 characters, no control characters.
    public var people: [String]
    /// Terminals it may log in from (each 1–64 of A-Z a-z 0-9 . _ : -); empty means any terminal.
    /// A shared ID must list at least one, so its use is tied to known places.
    public var terminals: [String]
    public var passwordHash: PasswordHash
    /// 20 bytes; shown once at creation (`TOTP.provisioningURI`).
    public var totpSecret: [UInt8]
    public var createdAt: Date
    public var lastLoginAt: Date?
    /// The TOTP step of the last successful login; a code of that step or earlier is a replay.
    public var lastTOTPStep: UInt64?
    /// Consecutive failed logins since the last success or lockout.
    public var failedLogins: Int
    public var lockedUntil: Date?
    public var disabledAt: Date?
    public var disabledReason: String?

    /// Two or more people use it.
    public var isShared: Bool { people.count > 1 }

    /// At most this many people per shared ID.
    public static let maximumPeople = 32
    /// At most this many terminals per account.
    public static let maximumTerminals = 64
    /// A disable reason has at most this many characters.
    public static let maximumReasonCharacters = 200

    /// Whether the account counts as dormant at `now`: last used (or created,
    /// if never used) more than `dormantDays` days before.
    public func isDormant(now: Date, policy: AccountPolicy) -> Bool {
        let lastUse = lastLoginAt ?? createdAt
        return now.timeIntervalSince(lastUse) > Double(policy.dormantDays) * 86_400
    }

    /// Whether a lockout is in force at `now`.
    public func isLocked(now: Date) -> Bool {
        guard let lockedUntil else { return false }
        return now < lockedUntil
    }

    /// Checks every field rule (login, code, roles, people, terminals,
    /// shared-ID rule, counters); throws `.invalidField` naming the field.
    /// `AccountBook` calls it before saving and after reading.
    func validate() throws(AccessError) {
        try Self.validateLogin(login)
        do {
            _ = try MunicipalityCode(code)
        } catch {
            throw AccessError.invalid("code", "must be a 6-digit municipality code with a valid check digit")
        }
        guard !roles.isEmpty else { throw AccessError.invalid("roles", "an account needs at least one role") }
        guard !people.isEmpty else {
            throw AccessError.invalid("people", "name the person who uses the account (several for a shared ID)")
        }
        guard people.count <= Self.maximumPeople else {
            throw AccessError.invalid("people", "at most \(Self.maximumPeople) people may share one account")
        }
        for (i, person) in people.enumerated() {
            guard (1...64).contains(person.count), !person.unicodeScalars.contains(where: Self.isControl),
                  person.trimmingCharacters(in: .whitespaces) == person else {
                throw AccessError.invalid("people", "entry \(i + 1) must be 1–64 characters without control characters or surrounding spaces")
            }
        }
        guard Set(people).count == people.count else { throw AccessError.invalid("people", "a person is listed twice") }
        guard terminals.count <= Self.maximumTerminals else {
            throw AccessError.invalid("terminals", "at most \(Self.maximumTerminals) terminals per account")
        }
        for (i, terminal) in terminals.enumerated() where !Self.isValidTerminal(terminal) {
            throw AccessError.invalid("terminals", "entry \(i + 1) must be 1–64 of A-Z a-z 0-9 . _ : -")
        }
        guard Set(terminals).count == terminals.count else { throw AccessError.invalid("terminals", "a terminal is listed twice") }
        if isShared && terminals.isEmpty {
            throw AccessError.invalid("terminals",
                "a shared ID (\(people.count) people) must list the terminals it is used from")
        }
        guard passwordHash.isWellFormed else { throw AccessError.invalid("passwordHash", "has unexpected parameters or sizes") }
        guard totpSecret.count == 20 else { throw AccessError.invalid("totpSecret", "must be 20 bytes") }
        guard failedLogins >= 0 else { throw AccessError.invalid("failedLogins", "must not be negative") }
        if let disabledReason {
            try Self.validateReason(disabledReason)
        }
    }

    /// 3–32 characters of a-z 0-9 . _ -, starting with a letter.
    static func validateLogin(_ login: String) throws(AccessError) {
        let bytes = Array(login.utf8)
        guard (3...32).contains(bytes.count), let first = bytes.first, (0x61...0x7a).contains(first),
              bytes.allSatisfy({ (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d })
        else {
            throw AccessError.invalid("login", "must be 3–32 characters of a-z 0-9 . _ -, starting with a letter")
        }
    }

    static func validateReason(_ reason: String) throws(AccessError) {
        guard (1...maximumReasonCharacters).contains(reason.count), !reason.unicodeScalars.contains(where: isControl) else {
            throw AccessError.invalid("reason", "must be 1–\(maximumReasonCharacters) characters without control characters")
        }
    }

    /// 1–64 of A-Z a-z 0-9 . _ : -
    public static func isValidTerminal(_ terminal: String) -> Bool {
        let bytes = Array(terminal.utf8)
        return (1...64).contains(bytes.count) && bytes.allSatisfy {
            (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) || (0x30...0x39).contains($0)
                || $0 == 0x2e || $0 == 0x5f || $0 == 0x3a || $0 == 0x2d
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
            || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}

extension Account: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Login, code, roles and state; never the hash, the TOTP secret or people's names.
    public var description: String {
        let state = disabledAt != nil ? "disabled" : "enabled"
        return "Account(\(login), code: \(code), roles: \(roles.sorted().map(\.rawValue).joined(separator: ",")), people: \(people.count), terminals: \(terminals.count), \(state))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["login": login, "code": code, "roles": roles.sorted(), "peopleCount": people.count,
                                "terminals": terminals, "disabled": disabledAt != nil])
    }
}

/// What `AccountBook.add` needs to create an account. Checked there.
public struct NewAccount: Sendable {
    public var login: String
    public var code: String
    public var roles: Set<Role>
    public var people: [String]
    public var terminals: [String]
    /// Hashed with scrypt by `add`; never stored.
    public var password: String

    public init(login: String, code: String, roles: Set<Role>, people: [String], terminals: [String], password: String) {
        self.login = login
        self.code = code
        self.roles = roles
        self.people = people
        self.terminals = terminals
        self.password = password
    }
}

extension NewAccount: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Never the password or people's names.
    public var description: String { "NewAccount(\(login), code: \(code))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["login": login, "code": code]) }
}
