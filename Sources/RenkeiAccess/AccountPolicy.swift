/// The node's rules for accounts and sessions. Every limit has a default;
/// change them in the node's configuration.
public struct AccountPolicy: Sendable, Equatable {
    /// Consecutive failed logins (bad password, bad or replayed TOTP, wrong
    /// terminal) after which the account is locked.
    public var maxFailedLogins = 5
    /// How long a lockout lasts.
    public var lockoutSeconds = 900
    /// An account not used for more than this many days (counted from its
    /// creation if never used) cannot log in until an administrator acts.
    public var dormantDays = 90
    /// A session unused for longer than this ends (the assessment's idle logout).
    public var sessionIdleSeconds = 900
    /// A session ends this long after login however busy it is.
    public var sessionLifetimeSeconds = 28_800
    /// Live sessions the node keeps at most.
    public var maxSessions = 256
    /// scrypt cost (log₂ N) for new password hashes.
    public var passwordCostLog2 = 15

    /// The defaults.
    public init() {}

    /// Any subset of the settings; the rest keep their defaults.
    public init(maxFailedLogins: Int = 5, lockoutSeconds: Int = 900, dormantDays: Int = 90,
                sessionIdleSeconds: Int = 900, sessionLifetimeSeconds: Int = 28_800, maxSessions: Int = 256,
                passwordCostLog2: Int = 15) {
        self.maxFailedLogins = maxFailedLogins
        self.lockoutSeconds = lockoutSeconds
        self.dormantDays = dormantDays
        self.sessionIdleSeconds = sessionIdleSeconds
        self.sessionLifetimeSeconds = sessionLifetimeSeconds
        self.maxSessions = maxSessions
        self.passwordCostLog2 = passwordCostLog2
    }

    /// Checks every setting is in a sensible range; `AccountBook.open`
    /// calls it. Throws `.invalidField` naming the setting.
    public func validated() throws(AccessError) -> AccountPolicy {
        func check(_ value: Int, _ range: ClosedRange<Int>, _ name: String) throws(AccessError) {
            guard range.contains(value) else {
                throw AccessError.invalid(name, "must be in \(range.lowerBound)...\(range.upperBound), is \(value)")
            }
        }
        try check(maxFailedLogins, 1...100, "maxFailedLogins")
        try check(lockoutSeconds, 1...31 * 86_400, "lockoutSeconds")
        try check(dormantDays, 1...3_650, "dormantDays")
        try check(sessionIdleSeconds, 1...86_400, "sessionIdleSeconds")
        try check(sessionLifetimeSeconds, 1...7 * 86_400, "sessionLifetimeSeconds")
        try check(maxSessions, 1...100_000, "maxSessions")
        try check(passwordCostLog2, PasswordHash.costLog2Range, "passwordCostLog2")
        return self
    }
}
