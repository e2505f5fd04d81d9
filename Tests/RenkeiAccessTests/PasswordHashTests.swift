import Testing
@testable import RenkeiAccess

@Suite struct PasswordHashTests {
    @Test func matchesOnlyTheRightPassword() throws {
        let hash = try PasswordHash.make(password: goodPassword, costLog2: 4)
        #expect(hash.costLog2 == 4 && hash.blockSize == 8 && hash.parallelism == 1)
        #expect(hash.salt.count == 16 && hash.hash.count == 32)
        #expect(hash.matches(goodPassword))
        #expect(!hash.matches(goodPassword + " "))
        #expect(!hash.matches("correct horse batterY"))
        #expect(!hash.matches(""))
        let again = try PasswordHash.make(password: goodPassword, costLog2: 4)
        #expect(again.salt != hash.salt, "a fresh salt every time")
        #expect(again.hash != hash.hash)
        #expect(!String(describing: hash).contains("\(hash.hash)"))
    }

    @Test func normalisesUnicode() throws {
        // "が" precomposed vs decomposed (か + combining dakuten).
        let hash = try PasswordHash.make(password: "パスワードがとてもながいです", costLog2: 4)
        #expect(hash.matches("パスワードか\u{3099}とてもながいです"))
    }

    @Test func lengthRules() throws {
        #expect(PasswordHash.minimumPasswordCharacters == 12)
        #expect(PasswordHash.maximumPasswordBytes == 1024)
        #expect(throws: AccessError.self) { try PasswordHash.make(password: "elevenchars", costLog2: 4) }
        do {
            _ = try PasswordHash.make(password: "short", costLog2: 4)
            Issue.record("a short password was accepted")
        } catch {
            #expect(error.code == .weakPassword)
            #expect(!error.message.contains("short"))
        }
        _ = try PasswordHash.make(password: "twelve chars", costLog2: 4)
        _ = try PasswordHash.make(password: "東京都千代田区霞が関一丁目", costLog2: 4)
        do {
            _ = try PasswordHash.make(password: String(repeating: "あ", count: 342), costLog2: 4)
            Issue.record("a 1026-byte password was accepted")
        } catch {
            #expect(error.code == .weakPassword)
        }
        do {
            _ = try PasswordHash.make(password: goodPassword, costLog2: 3)
            Issue.record("cost 2^3 was accepted")
        } catch {
            #expect(error.code == .invalidField)
            #expect(error.field == "passwordCostLog2")
        }
    }

    @Test func outOfBoundsParametersNeverMatch() throws {
        let hash = try PasswordHash.make(password: goodPassword, costLog2: 4)
        let huge = PasswordHash(costLog2: 40, blockSize: 8, parallelism: 1, salt: hash.salt, hash: hash.hash)
        #expect(!huge.matches(goodPassword))
    }

    /// The production cost (2^15, 32 MiB) must be within what the scrypt
    /// implementation allows. One evaluation only: in a debug build it takes
    /// about a second.
    @Test func defaultCostWorks() throws {
        let hash = try PasswordHash.make(password: goodPassword)
        #expect(hash.costLog2 == 15 && hash.hash.count == 32)
    }
}
