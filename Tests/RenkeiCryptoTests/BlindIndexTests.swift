import Crypto
import Testing
@testable import RenkeiCrypto

struct BlindIndexTests {
    let ring = TenantKeyring.generate(tenantCode: "322016")

    @Test func deterministicForTheSameKeyring() {
        let a = BlindIndex(keyring: ring)
        let b = BlindIndex(keyring: ring)
        #expect(a.token("123456789012", domain: .individualNumber) == b.token("123456789012", domain: .individualNumber))
        #expect(a.token("123456789012", domain: .individualNumber) == a.token("123456789012", domain: .individualNumber))
    }

    @Test func isTheDocumentedHMAC() {
        let token = BlindIndex(keyring: ring).token("42", domain: .vaccination)
        let input = Array("renkei.bi.v1".utf8) + [0] + Array("vaccination".utf8) + [0] + Array("42".utf8) + [0] + Array("322016".utf8)
        let expected = Array(HMAC<SHA256>.authenticationCode(for: input, using: ring.indexKey))
        #expect(token == expected)
    }

    @Test func differsAcrossTenants() {
        let other = TenantKeyring.generate(tenantCode: "131016")
        #expect(BlindIndex(keyring: ring).token("1", domain: .addressNumber)
            != BlindIndex(keyring: other).token("1", domain: .addressNumber))
    }

    @Test func differsAcrossDomains() {
        let index = BlindIndex(keyring: ring)
        let tokens = [BlindIndexDomain.individualNumber, .addressNumber, .vaccination].map { index.token("1", domain: $0) }
        #expect(Set(tokens).count == 3)
    }

    @Test func differsAcrossValues() {
        let index = BlindIndex(keyring: ring)
        let values = ["1", "2", "10", "", "１", "1 "]
        #expect(Set(values.map { index.token($0, domain: .addressNumber) }).count == values.count)
    }

    @Test func isThirtyTwoBytesWithoutThePlaintext() {
        let value = "123456789012"
        for domain in [BlindIndexDomain.individualNumber, .addressNumber, .vaccination] {
            let token = BlindIndex(keyring: ring).token(value, domain: domain)
            #expect(token.count == 32)
            #expect(!contains(token, Array(value.utf8)))
            #expect(!contains(token, Array(value.utf8.prefix(4))))
        }
    }

    @Test func survivesDataKeyRotation() {
        #expect(BlindIndex(keyring: ring).token("x", domain: .vaccination)
            == BlindIndex(keyring: ring.addingDataKeyVersion()).token("x", domain: .vaccination))
    }
}
