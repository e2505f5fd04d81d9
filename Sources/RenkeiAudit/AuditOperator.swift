/// The operator on whose behalf the current task works: set by the admin
/// services for the length of one call, so every entry the call appends
/// (through whichever module) names the account and terminal without each
/// call site passing them along. Child tasks inherit it; a peer's inquiry,
/// answered by the node itself, has none.
public struct AuditOperator: Sendable, Equatable {
    /// The operator account's login.
    public let login: String
    /// The terminal the session was opened from.
    public let terminal: String

    public init(login: String, terminal: String) {
        self.login = login
        self.terminal = terminal
    }

    /// The operator of the running admin call, if any.
    @TaskLocal public static var current: AuditOperator?
}
