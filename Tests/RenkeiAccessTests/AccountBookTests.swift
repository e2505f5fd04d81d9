import Foundation
import RenkeiCrypto
import Testing
@testable import RenkeiAccess

@Suite struct AccountValidationTests {
    func rejection(_ new: NewAccount) throws -> AccessError? {
        let dir = try TemporaryDirectory()
        let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
        do {
            _ = try book.add(new, now: t0)
            return nil
        } catch {
            #expect(book.accounts(code: nil).isEmpty, "a rejected account is not added")
            return error
        }
    }

    @Test(arguments: [
        (newAccount("ab"), "login"),
        (newAccount("1abc"), "login"),
        (newAccount("Tanaka"), "login"),
        (newAccount("tanaka hanako"), "login"),
        (newAccount(String(repeating: "a", count: 33)), "login"),
        (newAccount(code: "322017"), "code"),
        (newAccount(code: "32201"), "code"),
        (newAccount(roles: []), "roles"),
        (newAccount(people: []), "people"),
        (newAccount(people: [""]), "people"),
        (newAccount(people: ["tab\there"]), "people"),
        (newAccount(people: [String(repeating: "あ", count: 65)]), "people"),
        (newAccount(people: ["田中 花子", "田中 花子"], terminals: ["T1"]), "people"),
        (newAccount(terminals: ["has space"]), "terminals"),
        (newAccount(terminals: ["端末"]), "terminals"),
        (newAccount(terminals: [String(repeating: "T", count: 65)]), "terminals"),
        (newAccount(people: ["田中 花子", "鈴木 一郎"], terminals: []), "terminals"),
    ])
    func invalidFieldsAreNamed(new: NewAccount, field: String) throws {
        let error = try #require(try rejection(new))
        #expect(error.code == .invalidField)
        #expect(error.field == field)
        #expect(error.message.hasPrefix(field))
        for person in new.people where !person.isEmpty {
            #expect(!error.message.contains(person), "no person's name in an error")
        }
    }

    @Test func weakPasswordRefused() throws {
        let error = try #require(try rejection(newAccount(password: "short")))
        #expect(error.code == .weakPassword)
    }

    @Test func sharedIDWithTerminalsAccepted() throws {
        let dir = try TemporaryDirectory()
        let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
        let shared = try book.add(newAccount("window.1", people: ["田中 花子", "鈴木 一郎"], terminals: ["MATSUE-W01"]), now: t0)
        #expect(shared.isShared)
        #expect(shared.terminals == ["MATSUE-W01"])
        #expect(shared.totpSecret.count == 20)
        #expect(!(try book.add(newAccount("solo"), now: t0)).isShared)
    }

    @Test func loginsAreUniquePerNode() throws {
        let dir = try TemporaryDirectory()
        let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
        _ = try book.add(newAccount("tanaka"), now: t0)
        #expect(throws: AccessError.self) { try book.add(newAccount("tanaka", code: izumo), now: t0) }
        do {
            _ = try book.add(newAccount("tanaka", code: izumo), now: t0)
        } catch {
            #expect(error.code == .accountExists)
        }
        #expect(book.accounts(code: izumo).isEmpty)
    }

    @Test func policyIsChecked() throws {
        let dir = try TemporaryDirectory()
        var policy = fastPolicy
        policy.sessionIdleSeconds = 0
        do {
            _ = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: policy)
            Issue.record("an idle time of 0 was accepted")
        } catch {
            #expect(error.code == .invalidField && error.field == "sessionIdleSeconds")
        }
    }
}

@Suite struct LoginTests {
    let dir: TemporaryDirectory
    let book: AccountBook
    let account: Account

    init() throws {
        dir = try TemporaryDirectory()
        book = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
        account = try book.add(newAccount("tanaka", roles: [.clerk, .inquirer]), now: t0)
    }

    func login(_ password: String = goodPassword, totp: String? = nil, terminal: String = "T1", at: Date) -> LoginResult {
        book.login(login: "tanaka", password: password, totp: totp ?? code(account, at: at), terminal: terminal, now: at)
    }

    @Test func successUpdatesLastLogin() throws {
        let at = t0.addingTimeInterval(3_600)
        guard case .success(let updated) = login(at: at) else {
            Issue.record("login failed"); return
        }
        #expect(updated.lastLoginAt == at)
        #expect(updated.lastTOTPStep == TOTP(secret: account.totpSecret).step(at: at))
        #expect(updated.failedLogins == 0)
        #expect(book.account(login: "tanaka")?.lastLoginAt == at)
        #expect(book.unsavedChangesError == nil)
    }

    @Test func wrongPasswordCountsAFailure() {
        guard case .denied(.badPassword, let after?) = login("wrong password!!", at: t0) else {
            Issue.record("expected bad-password"); return
        }
        #expect(after.failedLogins == 1)
        #expect(after.lastLoginAt == nil)
    }

    @Test func wrongTOTP() {
        let right = code(account, at: t0)
        let wrong = right == "000000" ? "000001" : "000000"
        guard case .denied(.badTOTP, let after?) = login(totp: wrong, at: t0) else {
            Issue.record("expected bad-totp"); return
        }
        #expect(after.failedLogins == 1)
    }

    @Test func replayedTOTPRefused() {
        let at = t0.addingTimeInterval(100)
        let used = code(account, at: at)
        guard case .success = login(totp: used, at: at) else { Issue.record("first login failed"); return }
        guard case .denied(.replayedTOTP, _) = login(totp: used, at: at.addingTimeInterval(5)) else {
            Issue.record("the same code was accepted twice"); return
        }
        // The next step's code works.
        guard case .success = login(at: at.addingTimeInterval(30)) else { Issue.record("next step refused"); return }
    }

    @Test func unknownAccount() {
        guard case .denied(.unknownAccount, nil) = book.login(login: "nobody", password: goodPassword, totp: "123456", terminal: "T1", now: t0) else {
            Issue.record("expected unknown-account"); return
        }
    }

    @Test func disabledAccountCannotLogIn() throws {
        do {
            _ = try book.disable(login: "tanaka", code: izumo, reason: "left", now: t0)
            Issue.record("another municipality disabled the account")
        } catch {
            #expect(error.code == .accountNotFound)
        }
        let disabled = try book.disable(login: "tanaka", code: matsue, reason: "moved to another department", now: t0.addingTimeInterval(10))
        #expect(disabled.disabledAt == t0.addingTimeInterval(10))
        #expect(disabled.disabledReason == "moved to another department")
        guard case .denied(.disabled, _) = login(at: t0.addingTimeInterval(60)) else {
            Issue.record("a disabled account logged in"); return
        }
        #expect(try book.disable(login: "tanaka", code: matsue, reason: "again", now: t0.addingTimeInterval(99)) == disabled)
        do {
            _ = try book.disable(login: "nobody", code: matsue, reason: "x", now: t0)
        } catch {
            #expect(error.code == .accountNotFound)
        }
    }

    @Test func dormantAccountCannotLogIn() {
        let later = t0.addingTimeInterval(91 * 86_400)
        guard case .denied(.dormant, _) = login(at: later) else {
            Issue.record("a dormant account logged in"); return
        }
        let review = book.review(code: matsue, now: later)
        #expect(review.count == 1 && review[0].dormant && review[0].daysSinceLastUse == nil)
    }

    @Test func usedAccountIsNotDormantUntilItsLastLoginIsOld() {
        let used = t0.addingTimeInterval(60 * 86_400)
        guard case .success = login(at: used) else { Issue.record("login failed"); return }
        guard case .success = login(at: used.addingTimeInterval(89 * 86_400)) else {
            Issue.record("an account used 89 days ago was refused"); return
        }
        let review = book.review(code: nil, now: used.addingTimeInterval(89 * 86_400 + 3_600))
        #expect(review.first?.daysSinceLastUse == 0)
        #expect(review.first?.dormant == false)
    }

    @Test func lockoutAfterFiveFailures() {
        var at = t0
        for attempt in 1...5 {
            at = at.addingTimeInterval(1)
            guard case .denied(.badPassword, let after?) = login("wrong password!!", at: at) else {
                Issue.record("attempt \(attempt): expected bad-password"); return
            }
            #expect(after.isLocked(now: at) == (attempt == 5))
        }
        #expect(book.review(code: matsue, now: at)[0].locked)
        // Refused with the right password while locked.
        at = at.addingTimeInterval(60)
        guard case .denied(.locked, _) = login(at: at) else { Issue.record("locked account logged in"); return }
        guard case .denied(.locked, _) = login(at: t0.addingTimeInterval(5 + 899)) else {
            Issue.record("lock ended early"); return
        }
        // Allowed once lockoutSeconds have passed.
        guard case .success(let account) = login(at: t0.addingTimeInterval(5 + 901)) else {
            Issue.record("login refused after the lockout"); return
        }
        #expect(account.failedLogins == 0 && account.lockedUntil == nil)
    }

    @Test func successResetsTheFailureCount() {
        for i in 1...4 { _ = login("wrong password!!", at: t0.addingTimeInterval(Double(i))) }
        guard case .success = login(at: t0.addingTimeInterval(40)) else { Issue.record("login failed"); return }
        for i in 1...4 {
            guard case .denied(.badPassword, _) = login("wrong password!!", at: t0.addingTimeInterval(40 + Double(i))) else {
                Issue.record("expected bad-password"); return
            }
        }
        guard case .success = login(at: t0.addingTimeInterval(80)) else { Issue.record("locked too early"); return }
    }

    @Test func terminalNotAllowed() throws {
        let pinned = try book.add(newAccount("window.1", people: ["田中 花子", "鈴木 一郎"], terminals: ["MATSUE-W01", "MATSUE-W02"]), now: t0)
        let at = t0.addingTimeInterval(30)
        let totp = code(pinned, at: at)
        guard case .denied(.terminalNotAllowed, let after?) = book.login(login: "window.1", password: goodPassword, totp: totp, terminal: "IZUMO-01", now: at) else {
            Issue.record("expected terminal-not-allowed"); return
        }
        #expect(after.failedLogins == 1 && after.lastTOTPStep == nil)
        guard case .success = book.login(login: "window.1", password: goodPassword, totp: totp, terminal: "MATSUE-W02", now: at) else {
            Issue.record("listed terminal refused"); return
        }
    }

    @Test func reviewAndListingAreByMunicipality() throws {
        _ = try book.add(newAccount("sato", code: izumo, roles: [.auditor]), now: t0)
        _ = try book.add(newAccount("abe", roles: [.administrator]), now: t0)
        #expect(book.accounts(code: matsue).map(\.login) == ["abe", "tanaka"])
        #expect(book.accounts(code: izumo).map(\.login) == ["sato"])
        #expect(book.accounts(code: nil).map(\.login) == ["abe", "sato", "tanaka"])
        #expect(book.review(code: izumo, now: t0).map(\.account.login) == ["sato"])
    }
}

@Suite struct PersistenceTests {
    @Test func reopenedBookHasEverything() throws {
        let dir = try TemporaryDirectory()
        let key = MasterKey.generate()
        let (tanaka, window): (Account, Account)
        do {
            let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: key, policy: fastPolicy)
            tanaka = try book.add(newAccount("tanaka"), now: t0)
            window = try book.add(newAccount("window.1", code: izumo, roles: [.clerk, .inquirer],
                                             people: ["田中 花子", "鈴木 一郎"], terminals: ["IZUMO-W01"]), now: t0)
            guard case .success = book.login(login: "tanaka", password: goodPassword, totp: code(tanaka, at: t0), terminal: "T", now: t0) else {
                Issue.record("login failed"); return
            }
            _ = book.login(login: "window.1", password: "wrong password!!", totp: "000000", terminal: "IZUMO-W01", now: t0)
            _ = try book.disable(login: "window.1", code: izumo, reason: "office closed", now: t0.addingTimeInterval(5))
        }
        #expect(fileMode(dir.bookFile) == 0o600)
        #expect(fileMode(dir.bookDirectory) == 0o700)
        let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: key, policy: fastPolicy)
        let reopened = try #require(book.account(login: "tanaka"))
        #expect(reopened.lastLoginAt == t0)
        #expect(reopened.lastTOTPStep == TOTP(secret: tanaka.totpSecret).step(at: t0))
        #expect(reopened.passwordHash == tanaka.passwordHash)
        #expect(reopened.totpSecret == tanaka.totpSecret)
        let w = try #require(book.account(login: "window.1"))
        #expect(w.people == window.people && w.terminals == window.terminals && w.roles == window.roles)
        #expect(w.failedLogins == 1)
        #expect(w.disabledReason == "office closed" && w.disabledAt == t0.addingTimeInterval(5))
        // The replay rule survives a restart.
        guard case .denied(.replayedTOTP, _) = book.login(login: "tanaka", password: goodPassword, totp: code(tanaka, at: t0), terminal: "T", now: t0.addingTimeInterval(2)) else {
            Issue.record("a code used before the restart was accepted"); return
        }
    }

    @Test func fileHoldsNoPlaintext() throws {
        let dir = try TemporaryDirectory()
        let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
        let account = try book.add(newAccount("tanaka.clerk", people: ["田中 花子", "Suzuki Ichiro"], terminals: ["MATSUE-W01"]), now: t0)
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.bookFile)))
        for needle in ["tanaka.clerk", "田中 花子", "田中", "Suzuki", "MATSUE-W01", "clerk", "322016"] {
            #expect(!contains(raw, Array(needle.utf8)), "\(needle) in plaintext")
        }
        #expect(!contains(raw, account.totpSecret))
        #expect(!contains(raw, account.passwordHash.hash))
        #expect(!contains(raw, Array(TOTP.base32(account.totpSecret).utf8)))
    }

    @Test func wrongMasterKeyFailsNamingTheFile() throws {
        let dir = try TemporaryDirectory()
        do {
            let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
            _ = try book.add(newAccount(), now: t0)
        }
        do {
            _ = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
            Issue.record("opened under another master key")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.message.contains(dir.bookFile))
        }
    }

    @Test func alteredFileFails() throws {
        let dir = try TemporaryDirectory()
        let key = MasterKey.generate()
        do {
            let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: key, policy: fastPolicy)
            _ = try book.add(newAccount(), now: t0)
        }
        var raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.bookFile)))
        raw[raw.count / 2] ^= 0x01
        try Data(raw).write(to: URL(fileURLWithPath: dir.bookFile))
        #expect(throws: AccessError.self) { try AccountBook.open(directory: dir.bookDirectory, masterKey: key, policy: fastPolicy) }
        try Data("not a book".utf8).write(to: URL(fileURLWithPath: dir.bookFile))
        do {
            _ = try AccountBook.open(directory: dir.bookDirectory, masterKey: key, policy: fastPolicy)
            Issue.record("opened a file that is not an account book")
        } catch {
            #expect(error.code == .corrupt)
        }
    }

    @Test func missingFileIsAnEmptyBook() throws {
        let dir = try TemporaryDirectory()
        let book = try AccountBook.open(directory: dir.bookDirectory, masterKey: .generate(), policy: fastPolicy)
        #expect(book.accounts(code: nil).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir.bookFile))
        #expect(book.policy == fastPolicy)
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}

@Suite struct AccessKeyTests {
    @Test func derivedPerMasterKeyAndDistinctFromTheAuditKey() throws {
        let key = try MasterKey.fromHex(String(repeating: "ab", count: 32))
        let same = try MasterKey.fromHex(String(repeating: "ab", count: 32))
        let bytes: (MasterKey) -> [UInt8] = { $0.accessKey().withUnsafeBytes { Array($0) } }
        #expect(bytes(key).count == 32)
        #expect(bytes(key) == bytes(same))
        #expect(bytes(key) != bytes(.generate()))
        #expect(bytes(key) != key.auditKey(for: "").withUnsafeBytes { Array($0) })
    }
}
