#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import RenkeiCrypto
import Synchronization

/// Why a login was refused. The raw value is what the operation log records.
public enum LoginDenial: String, Sendable {
    case unknownAccount = "unknown-account"
    case disabled
    case dormant
    case locked
    case badPassword = "bad-password"
    case badTOTP = "bad-totp"
    case replayedTOTP = "replayed-totp"
    case terminalNotAllowed = "terminal-not-allowed"
}

/// The outcome of `AccountBook.login`.
///
/// The denial reason is for the operation log and the operator's
/// administrator; what the person at the terminal is told is the caller's
/// choice (usually one message for every reason).
public enum LoginResult: Sendable {
    /// The account as updated by the login (`lastLoginAt`, `lastTOTPStep`).
    case success(Account)
    /// `account` is nil for an unknown login, else the account as it is after
    /// the attempt (failure counter, lockout).
    case denied(LoginDenial, account: Account?)
}

/// One line of the periodic account review (`renkei user review`).
public struct ReviewRow: Sendable {
    public let account: Account
    /// Unused for more than `dormantDays`; it cannot log in.
    public let dormant: Bool
    /// A lockout is in force.
    public let locked: Bool
    /// Whole days since the last login; nil if it never logged in.
    public let daysSinceLastUse: Int?
}

/// The operator accounts of every municipality on the node.
///
/// All of them live in one file, `directory/accounts.sealed`: JSON sealed
/// with AES-256-GCM under `MasterKey.accessKey()`, the file's magic and
/// format version bound in as associated data. It is replaced atomically
/// (`SecureFile.writeAtomically`, mode 0600) on every change, while the lock
/// is held, so the file always matches a state the book was in. Sealing
/// keeps login names, people's names, password hashes and TOTP secrets off
/// the disk in plaintext, and an edited or swapped file fails to open.
///
/// Thread safety: all state is behind one `Mutex`; the scrypt evaluation of
/// a login runs outside it, so slow password checks do not block lookups.
/// One process should own the directory (the running node); two processes
/// writing it would overwrite each other's changes.
public final class AccountBook: Sendable {
    /// The file name inside the directory.
    public static let fileName = "accounts.sealed"
    /// At most this many accounts on one node.
    public static let maximumAccounts = 10_000
    /// A bound on the file read at open: 10,000 accounts with a few terminals fit well below it.
    static let maximumFileBytes = 64 * 1024 * 1024
    /// Magic and format version at the start of the file; also the associated data.
    static let magic = Array("RENKEI-ACCOUNTS".utf8)
    static let formatVersion: UInt8 = 1

    private struct State {
        var accounts: [String: Account]
        /// The error of the last failed save while memory is ahead of the file.
        var unsavedError: AccessError?
    }

    private let state: Mutex<State>
    private let path: String
    private let key: SymmetricKey
    /// The node's rules, as validated at open.
    public let policy: AccountPolicy
    /// A hash the login of an unknown account is checked against, so that
    /// costs one scrypt evaluation like a known one (no timing oracle for
    /// which logins exist).
    private let decoyHash: PasswordHash

    private init(path: String, key: SymmetricKey, policy: AccountPolicy, accounts: [String: Account]) throws(AccessError) {
        self.path = path
        self.key = key
        self.policy = policy
        self.state = Mutex(State(accounts: accounts, unsavedError: nil))
        self.decoyHash = try PasswordHash.make(password: hexEncode(randomBytes(16)), costLog2: policy.passwordCostLog2)
    }

    /// Accounts of every municipality on the node, in one file `directory/accounts.sealed` (0600, dir 0700),
    /// AES-GCM sealed under `masterKey.accessKey()` with the file's format version as associated data,
    /// replaced atomically (RenkeiCrypto.SecureFile.writeAtomically) on every change. Missing file = no accounts.
    ///
    /// Creates `directory` with mode 0700 if it does not exist (an existing
    /// one is left as it is). Throws `.invalidField` for a policy out of
    /// range, `.storage` if the directory or file cannot be made or read,
    /// `.corrupt` (naming the file) if the file does not open under this
    /// master key, has an unknown format, or holds an account that breaks a rule.
    public static func open(directory: String, masterKey: MasterKey, policy: AccountPolicy = AccountPolicy()) throws(AccessError) -> AccountBook {
        let policy = try policy.validated()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw AccessError(.storage, "\(directory) is not a directory; the account book needs a directory")
            }
        } else if mkdir(directory, 0o700) != 0 || chmod(directory, 0o700) != 0 {
            let err = errno
            throw AccessError(.storage, "could not create the account directory \(directory): \(String(cString: strerror(err)))")
        }
        let path = directory.hasSuffix("/") ? directory + fileName : directory + "/" + fileName
        let key = masterKey.accessKey()
        let accounts = try load(path: path, key: key)
        return try AccountBook(path: path, key: key, policy: policy, accounts: accounts)
    }

    // MARK: Changes

    /// Checks `new` and adds it as an account created at `now`, with a fresh
    /// TOTP secret, and saves the file.
    ///
    /// Returns the account including `totpSecret`: the caller shows it once
    /// (e.g. as `TOTP.provisioningURI`) and keeps it nowhere else. Throws
    /// `.invalidField` naming the field (`login`, `code`, `roles`, `people`,
    /// `terminals`; a shared ID without terminals names `terminals`),
    /// `.weakPassword`, `.accountExists` if the login is taken on this node
    /// (by any municipality), `.storage` if the node already has
    /// `maximumAccounts` or the file cannot be written (nothing is added then).
    /// Runs one scrypt evaluation on the calling thread.
    public func add(_ new: NewAccount, now: Date) throws(AccessError) -> Account {
        // Cheap checks first, so a bad request costs no scrypt work.
        var account = Account(
            login: new.login, code: new.code, roles: new.roles, people: new.people, terminals: new.terminals,
            passwordHash: decoyHash, totpSecret: TOTP.randomSecret(), createdAt: now, lastLoginAt: nil,
            lastTOTPStep: nil, failedLogins: 0, lockedUntil: nil, disabledAt: nil, disabledReason: nil)
        try account.validate()
        guard self.account(login: new.login) == nil else { throw Self.exists(new.login) }
        account.passwordHash = try PasswordHash.make(password: new.password, costLog2: policy.passwordCostLog2)
        let added = account
        return try state.withLock { (state: inout State) throws(AccessError) -> Account in
            guard state.accounts[added.login] == nil else { throw Self.exists(added.login) }
            guard state.accounts.count < Self.maximumAccounts else {
                throw AccessError(.storage, "this node already has \(Self.maximumAccounts) accounts, the most it keeps; disable and review old ones")
            }
            var next = state.accounts
            next[added.login] = added
            try save(next, into: &state)
            return added
        }
    }

    /// Disables the account `login` of municipality `code` at `now`, recording
    /// `reason` (1–200 characters, e.g. "moved to another department"; no
    /// personal details), and saves the file. A disabled account cannot log
    /// in; close its sessions with `SessionTable.closeAll(login:)`.
    ///
    /// Throws `.accountNotFound` if there is no such login or it belongs to
    /// another municipality (the same error, so an administrator learns
    /// nothing about other municipalities' accounts), `.invalidField` for the
    /// reason, `.storage` if the file cannot be written (nothing changes then).
    /// Disabling a disabled account returns it unchanged.
    public func disable(login: String, code: String, reason: String, now: Date) throws(AccessError) -> Account {
        try Account.validateReason(reason)
        return try state.withLock { (state: inout State) throws(AccessError) -> Account in
            guard var account = state.accounts[login], account.code == code else {
                throw AccessError(.accountNotFound, "municipality \(code) has no account \(login)")
            }
            guard account.disabledAt == nil else { return account }
            account.disabledAt = now
            account.disabledReason = reason
            var next = state.accounts
            next[login] = account
            try save(next, into: &state)
            return account
        }
    }

    // MARK: Reading

    /// The account with this login, of any municipality.
    public func account(login: String) -> Account? {
        state.withLock { $0.accounts[login] }
    }

    /// The accounts of municipality `code` (every municipality if nil), sorted by login.
    public func accounts(code: String?) -> [Account] {
        state.withLock { state in
            state.accounts.values.filter { code == nil || $0.code == code }.sorted { $0.login < $1.login }
        }
    }

    /// The periodic review of municipality `code` (every municipality if nil):
    /// each account with whether it is dormant or locked at `now` and the days
    /// since its last use, sorted by login.
    public func review(code: String?, now: Date) -> [ReviewRow] {
        accounts(code: code).map { account in
            ReviewRow(
                account: account,
                dormant: account.isDormant(now: now, policy: policy),
                locked: account.isLocked(now: now),
                daysSinceLastUse: account.lastLoginAt.map { max(0, Int(now.timeIntervalSince($0) / 86_400)) })
        }
    }

    /// The error of the last save that failed after a login changed an
    /// account (a login cannot throw), while memory is ahead of the file; nil
    /// when the file matches memory. The next change saves everything again.
    public var unsavedChangesError: AccessError? {
        state.withLock { $0.unsavedError }
    }

    // MARK: Login

    /// Checks password then TOTP then terminal, updates counters/lockout/lastLoginAt/lastTOTPStep and saves.
    /// An unknown login still costs one scrypt evaluation (no timing oracle). After `maxFailedLogins` consecutive
    /// failures the account is locked for `lockoutSeconds` (login refused as .locked even with the right password).
    /// Disabled → .disabled; lastLoginAt (or createdAt if never used) older than dormantDays → .dormant.
    /// A TOTP step ≤ lastTOTPStep → .replayedTOTP.
    ///
    /// Order: the password is always evaluated first (same cost for every
    /// outcome); then a disabled, locked or dormant account is refused as
    /// such without counting a failure; then a bad password, a TOTP code
    /// that matches no step within ±1, a replayed step, or a terminal the
    /// account does not list each count one failure (the one that reaches
    /// `maxFailedLogins` starts the lockout and resets the count). A failure
    /// on the terminal does not use up the TOTP step. Success resets the
    /// counter and lockout and records `now` and the step. If saving fails
    /// the in-memory state still changes (a replayed code stays refused) and
    /// `unsavedChangesError` says so.
    public func login(login: String, password: String, totp: String, terminal: String, now: Date) -> LoginResult {
        guard let snapshot = account(login: login) else {
            _ = decoyHash.matches(password)
            return .denied(.unknownAccount, account: nil)
        }
        let passwordMatches = snapshot.passwordHash.matches(password)
        let policy = self.policy
        return state.withLock { (state: inout State) -> LoginResult in
            // Re-read: the account may have changed during the scrypt work.
            guard var account = state.accounts[login] else { return .denied(.unknownAccount, account: nil) }
            if account.disabledAt != nil { return .denied(.disabled, account: account) }
            if account.isLocked(now: now) { return .denied(.locked, account: account) }
            if account.isDormant(now: now, policy: policy) { return .denied(.dormant, account: account) }

            let denial: LoginDenial?
            var step: UInt64?
            if !passwordMatches || account.passwordHash != snapshot.passwordHash {
                denial = .badPassword
            } else if let matched = TOTP(secret: account.totpSecret).matchingStep(totp, at: now) {
                step = matched
                if let last = account.lastTOTPStep, matched <= last {
                    denial = .replayedTOTP
                } else if !account.terminals.isEmpty && !account.terminals.contains(terminal) {
                    denial = .terminalNotAllowed
                } else {
                    denial = nil
                }
            } else {
                denial = .badTOTP
            }

            if let denial {
                account.failedLogins += 1
                if account.failedLogins >= policy.maxFailedLogins {
                    account.lockedUntil = now.addingTimeInterval(Double(policy.lockoutSeconds))
                    account.failedLogins = 0
                }
                saveLogin(account, into: &state)
                return .denied(denial, account: account)
            }
            account.failedLogins = 0
            account.lockedUntil = nil
            account.lastLoginAt = now
            account.lastTOTPStep = step
            saveLogin(account, into: &state)
            return .success(account)
        }
    }

    // MARK: File

    private static func exists(_ login: String) -> AccessError {
        AccessError(.accountExists, "an account \(login) already exists on this node; choose another login")
    }

    /// Stores `account` in memory and tries to save; a login cannot throw, so
    /// a failure is kept for `unsavedChangesError`.
    private func saveLogin(_ account: Account, into state: inout State) {
        var next = state.accounts
        next[account.login] = account
        do {
            try save(next, into: &state)
        } catch {
            state.accounts = next
            state.unsavedError = error
        }
    }

    /// Writes `accounts` to the file, then makes them the state. Called with
    /// the lock held, so saves are serialised and the file never goes back
    /// to an older state.
    private func save(_ accounts: [String: Account], into state: inout State) throws(AccessError) {
        // Assert right before writing: never persist an account that breaks a rule.
        for account in accounts.values {
            do {
                try account.validate()
            } catch {
                throw AccessError(.corrupt, "refusing to save account \(account.login): \(error.message)", field: error.field)
            }
        }
        let file = AccountFile(format: Int(Self.formatVersion), accounts: accounts.values.sorted { $0.login < $1.login })
        var plain: [UInt8]
        do {
            plain = Array(try JSONEncoder().encode(file))
        } catch {
            throw AccessError(.storage, "could not encode the account book", cause: CauseDescription(error))
        }
        defer { wipe(&plain) }
        let sealed: [UInt8]
        do {
            let box = try AES.GCM.seal(plain, using: key, authenticating: Self.associatedData)
            sealed = Self.header + Array(box.combined!)
        } catch {
            throw AccessError(.storage, "AES-GCM failed while sealing \(path)", cause: CauseDescription(error))
        }
        do {
            try SecureFile.writeAtomically(sealed, toPath: path, mode: 0o600)
        } catch let error as RenkeiCrypto.CryptoError {
            throw AccessError(.storage, "could not write \(path): \(error.message)", cause: error)
        } catch {
            throw AccessError(.storage, "could not write \(path)", cause: CauseDescription(error))
        }
        state.accounts = accounts
        state.unsavedError = nil
    }

    static var header: [UInt8] { magic + [formatVersion] }
    static var associatedData: [UInt8] { Array("renkei.accounts.v".utf8) + [formatVersion] }

    private static func load(path: String, key: SymmetricKey) throws(AccessError) -> [String: Account] {
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maximumFileBytes {
            throw AccessError(.corrupt, "\(path) is \(size) bytes, more than an account book can be (\(maximumFileBytes))")
        }
        let bytes: [UInt8]
        do {
            bytes = try SecureFile.readAll(atPath: path)
        } catch let error as RenkeiCrypto.CryptoError where error.code == .keyFileMissing {
            return [:]
        } catch let error as RenkeiCrypto.CryptoError {
            throw AccessError(.storage, "could not read \(path): \(error.message)", cause: error)
        } catch {
            throw AccessError(.storage, "could not read \(path)", cause: CauseDescription(error))
        }
        guard bytes.count > magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw AccessError(.corrupt, "\(path) is not a renkei account book")
        }
        guard bytes[magic.count] == formatVersion else {
            throw AccessError(.corrupt, "\(path) has account book format \(bytes[magic.count]); this renkei reads format \(formatVersion)")
        }
        var plain: [UInt8]
        do {
            let box = try AES.GCM.SealedBox(combined: bytes[(magic.count + 1)...])
            plain = Array(try AES.GCM.open(box, using: key, authenticating: associatedData))
        } catch {
            throw AccessError(.corrupt,
                "\(path) does not open under this node's master key: another node's key (compare the master key fingerprint), or the file was altered",
                cause: CauseDescription(error))
        }
        defer { wipe(&plain) }
        let file: AccountFile
        do {
            file = try JSONDecoder().decode(AccountFile.self, from: Data(plain))
        } catch {
            throw AccessError(.corrupt, "\(path) opened but its contents are not an account book", cause: CauseDescription(error))
        }
        guard file.format == Int(formatVersion) else {
            throw AccessError(.corrupt, "\(path) holds account book format \(file.format); this renkei reads format \(formatVersion)")
        }
        guard file.accounts.count <= maximumAccounts else {
            throw AccessError(.corrupt, "\(path) holds \(file.accounts.count) accounts, more than the \(maximumAccounts) a node keeps")
        }
        // Assert right after reading.
        var accounts: [String: Account] = [:]
        for account in file.accounts {
            do {
                try account.validate()
            } catch {
                throw AccessError(.corrupt, "\(path): account \(account.login.prefix(32)) breaks a rule: \(error.message)", field: error.field)
            }
            guard accounts.updateValue(account, forKey: account.login) == nil else {
                throw AccessError(.corrupt, "\(path): account \(account.login) appears twice")
            }
        }
        return accounts
    }
}

/// The sealed payload. Field names are the on-disk format (version 1).
private struct AccountFile: Codable {
    var format: Int
    var accounts: [Account]
}

/// A cause kept as text, for library errors that are not `Sendable`.
struct CauseDescription: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ error: any Error) { description = String(describing: error) }
}
