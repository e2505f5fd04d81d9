import Foundation
import Testing
@testable import RenkeiAccess

@Suite struct TOTPTests {
    /// RFC 6238 Appendix B, the SHA-1 column (8 digits, ASCII secret "12345678901234567890").
    @Test(arguments: [
        (59.0, "94287082"),
        (1_111_111_109.0, "07081804"),
        (1_111_111_111.0, "14050471"),
        (1_234_567_890.0, "89005924"),
        (2_000_000_000.0, "69279037"),
        (20_000_000_000.0, "65353130"),
    ])
    func rfc6238Vectors(seconds: Double, expected: String) {
        let totp = TOTP(secret: Array("12345678901234567890".utf8), digits: 8)
        let at = Date(timeIntervalSince1970: seconds)
        #expect(totp.code(at: at) == expected)
        #expect(totp.step(at: at) == UInt64(seconds) / 30)
        #expect(totp.matchingStep(expected, at: at) == UInt64(seconds) / 30)
    }

    @Test func base32MatchesRFC4648() {
        #expect(TOTP.base32(Array("12345678901234567890".utf8)) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        // RFC 4648 section 10, without padding.
        #expect(TOTP.base32([]) == "")
        #expect(TOTP.base32(Array("f".utf8)) == "MY")
        #expect(TOTP.base32(Array("fo".utf8)) == "MZXQ")
        #expect(TOTP.base32(Array("foo".utf8)) == "MZXW6")
        #expect(TOTP.base32(Array("foob".utf8)) == "MZXW6YQ")
        #expect(TOTP.base32(Array("fooba".utf8)) == "MZXW6YTB")
        #expect(TOTP.base32(Array("foobar".utf8)) == "MZXW6YTBOI")
    }

    @Test func windowAcceptsNeighbouringStepsOnly() {
        let totp = TOTP(secret: TOTP.randomSecret())
        let now = Date(timeIntervalSince1970: 1_800_000_015)
        let step = totp.step(at: now)
        let previous = totp.code(at: now.addingTimeInterval(-30))
        let next = totp.code(at: now.addingTimeInterval(30))
        let old = totp.code(at: now.addingTimeInterval(-90))
        #expect(totp.matchingStep(totp.code(at: now), at: now) == step)
        #expect(totp.matchingStep(previous, at: now) == step - 1)
        #expect(totp.matchingStep(next, at: now) == step + 1)
        if old != previous && old != totp.code(at: now) && old != next {
            #expect(totp.matchingStep(old, at: now) == nil)
        }
        #expect(totp.matchingStep(previous, at: now, window: 0) == nil || previous == totp.code(at: now))
    }

    @Test func malformedCodesMatchNothing() {
        let totp = TOTP(secret: TOTP.randomSecret())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let good = totp.code(at: now)
        #expect(good.count == 6)
        #expect(totp.matchingStep("", at: now) == nil)
        #expect(totp.matchingStep(good + "0", at: now) == nil)
        #expect(totp.matchingStep(String(good.dropLast()), at: now) == nil)
        #expect(totp.matchingStep(" " + good.dropFirst(), at: now) == nil)
        #expect(totp.matchingStep("１２３４５６", at: now) == nil)
    }

    @Test func secretsAndProvisioningURI() {
        let secret = TOTP.randomSecret()
        #expect(secret.count == 20)
        #expect(TOTP.randomSecret() != secret)
        let uri = TOTP.provisioningURI(secret: Array("12345678901234567890".utf8), account: "tanaka", issuer: "Renkei 322016")
        #expect(uri == "otpauth://totp/Renkei%20322016:tanaka?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Renkei%20322016&algorithm=SHA1&digits=6&period=30")
        #expect(!String(describing: TOTP(secret: secret)).contains(TOTP.base32(secret)))
    }
}
