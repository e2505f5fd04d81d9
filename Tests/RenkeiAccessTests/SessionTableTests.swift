import Foundation
import Testing
import RenkeiAccess

@Suite struct SessionTableTests {
    let account: Account
    let other: Account

    init() throws {
        let dir = try TemporaryDirectory()
        let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
        account = try book.add(newAccount("tanaka", roles: [.clerk]), now: t0)
        other = try book.add(newAccount("sato", code: izumo, roles: [.auditor]), now: t0)
    }

    @Test func openAndCheck() throws {
        let table = SessionTable(policy: AccountPolicy())
        let token = try table.open(account, terminal: "T1", now: t0)
        #expect(token.count == 64 && token.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(try table.open(account, terminal: "T1", now: t0) != token)
        guard case .valid(let session) = table.check(token, now: t0.addingTimeInterval(10)) else {
            Issue.record("fresh session not valid"); return
        }
        #expect(session == Session(login: "tanaka", code: matsue, roles: [.clerk], terminal: "T1",
                                   openedAt: t0, lastSeenAt: t0.addingTimeInterval(10)))
        #expect(table.check(String(repeating: "0", count: 64), now: t0) == .unknown)
        #expect(table.check("not a token", now: t0) == .unknown)
        #expect(table.check(token.uppercased(), now: t0) == .unknown)
    }

    @Test func idleExpiry() throws {
        let table = SessionTable(policy: AccountPolicy())  // 15 minutes idle
        let token = try table.open(account, terminal: "T1", now: t0)
        var at = t0
        for _ in 0..<5 {  // activity every 14 minutes keeps it alive
            at = at.addingTimeInterval(14 * 60)
            guard case .valid = table.check(token, now: at) else { Issue.record("active session expired"); return }
        }
        #expect(table.check(token, now: at.addingTimeInterval(901)) == .expiredIdle)
        #expect(table.check(token, now: at.addingTimeInterval(902)) == .unknown, "an expired session is removed")
        #expect(table.count == 0)
    }

    @Test func lifetimeExpiry() throws {
        let table = SessionTable(policy: AccountPolicy(sessionIdleSeconds: 900, sessionLifetimeSeconds: 3_600))
        let token = try table.open(account, terminal: "T1", now: t0)
        var at = t0
        while at.timeIntervalSince(t0) + 600 <= 3_600 {
            at = at.addingTimeInterval(600)
            guard case .valid = table.check(token, now: at) else { Issue.record("session ended before its lifetime"); return }
        }
        #expect(table.check(token, now: t0.addingTimeInterval(3_601)) == .expiredLifetime)
        #expect(table.check(token, now: t0.addingTimeInterval(3_602)) == .unknown)
    }

    @Test func closeAndCloseAll() throws {
        let table = SessionTable(policy: AccountPolicy())
        let a = try table.open(account, terminal: "T1", now: t0)
        let b = try table.open(account, terminal: "T2", now: t0)
        let c = try table.open(other, terminal: "T3", now: t0)
        #expect(table.count == 3)
        #expect(table.close(a)?.terminal == "T1")
        #expect(table.close(a) == nil)
        #expect(table.check(a, now: t0) == .unknown)
        #expect(table.closeAll(login: "tanaka") == 1)
        #expect(table.check(b, now: t0) == .unknown)
        guard case .valid = table.check(c, now: t0) else { Issue.record("another login's session closed"); return }
        #expect(table.count == 1)
    }

    @Test func boundedAndExpiredOnesMakeRoom() throws {
        let table = SessionTable(policy: AccountPolicy(maxSessions: 3))
        for i in 0..<3 { _ = try table.open(account, terminal: "T\(i)", now: t0) }
        do {
            _ = try table.open(account, terminal: "T3", now: t0.addingTimeInterval(60))
            Issue.record("a fourth session was opened")
        } catch {
            #expect(error.code == .tooManySessions)
        }
        #expect(table.count == 3)
        // Once the others are idle-expired, a new one fits.
        _ = try table.open(other, terminal: "T4", now: t0.addingTimeInterval(901))
        #expect(table.count == 1)
    }
}
