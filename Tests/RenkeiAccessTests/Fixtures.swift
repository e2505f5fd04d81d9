import Foundation
import RenkeiCrypto
@testable import RenkeiAccess

/// A cheap policy: scrypt at 2^4 keeps every test fast.
let fastPolicy = AccountPolicy(passwordCostLog2: 4)
let t0 = Date(timeIntervalSince1970: 1_800_000_000)
let matsue = "322016"
let izumo = "322032"
let goodPassword = "correct horse battery"

/// A fresh directory under the system temporary directory, removed on deinit.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "renkei-access-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var bookDirectory: String { path + "/access" }
    var bookFile: String { bookDirectory + "/" + AccountBook.fileName }
}

func newAccount(_ login: String = "tanaka", code: String = matsue, roles: Set<Role> = [.clerk],
                people: [String] = ["田中 花子"], terminals: [String] = [], password: String = goodPassword) -> NewAccount {
    NewAccount(login: login, code: code, roles: roles, people: people, terminals: terminals, password: password)
}

func code(_ account: Account, at date: Date) -> String {
    TOTP(secret: account.totpSecret).code(at: date)
}

func fileMode(_ path: String) -> Int? {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber)?.intValue
}
