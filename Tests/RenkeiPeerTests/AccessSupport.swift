import Foundation
import Synchronization
import Logging
import RenkeiAccess
import RenkeiCore
import RenkeiCrypto
import RenkeiTenantStore
@testable import RenkeiPeer

/// Operator accounts for in-process admin tests: a real `AccountBook` in the
/// test's directory (cheap scrypt), a gate over the node's store, and
/// sessions opened directly (the login path has its own tests).
struct AccessFixture: Sendable {
    let gate: AccessGate
    let clock: TestClock

    init(store: NodeStore, directory: String, settings: AccessSettings = AccessSettings(), logger: Logger) throws {
        var policy = settings.policy
        policy.passwordCostLog2 = 4
        let accounts = try AccountBook.open(directory: directory, masterKey: MasterKey.generate(), policy: policy)
        let clock = TestClock()
        self.clock = clock
        gate = AccessGate(accounts: accounts, settings: settings, store: store, logger: logger, clock: { clock.now })
    }

    /// Adds an account (login from the roles and code unless given) and opens a session for it.
    @discardableResult
    func session(_ code: MunicipalityCode, _ roles: Set<Role>, login: String? = nil, terminal: String = "desk-1") throws -> String {
        let name = login ?? "u\(code.rawValue)-" + roles.map(\.rawValue).sorted().joined(separator: "-")
        let account = try gate.accounts.account(login: name)
            ?? gate.accounts.add(NewAccount(login: name, code: code.rawValue, roles: roles, people: ["Test Person"], terminals: [],
                                            password: Self.password), now: clock.now)
        return try gate.sessions.open(account, terminal: terminal, now: clock.now)
    }

    static let password = "correct horse battery"
}

/// A clock tests move by hand (idle and lifetime expiry without sleeping).
final class TestClock: Sendable {
    private let state = Mutex(Date(timeIntervalSince1970: 1_790_000_000))
    var now: Date { state.withLock { $0 } }
    func advance(seconds: Double) { state.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
