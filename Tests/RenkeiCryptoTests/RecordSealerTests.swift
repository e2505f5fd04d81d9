import Crypto
import Testing
@testable import RenkeiCrypto

struct RecordSealerTests {
    let ring = TenantKeyring.generate(tenantCode: "322016")
    let context = RecordContext(tenantCode: "322016", columnFamily: "residents", recordKey: [0x10, 0x20, 0x30])
    let plaintext = Array("氏名=山田太郎;生年月日=1950-01-01".utf8)

    @Test func roundtrip() throws {
        let sealer = RecordSealer(keyring: ring)
        let envelope = try sealer.seal(plaintext, context: context)
        #expect(envelope.count == 1 + 4 + 12 + plaintext.count + 16)
        #expect(envelope[0] == 0x01)
        #expect(!contains(envelope, Array("山田太郎".utf8)))
        #expect(try sealer.open(envelope, context: context) == plaintext)
    }

    @Test func emptyPlaintextAndEmptyRecordKeyRoundtrip() throws {
        let sealer = RecordSealer(keyring: ring)
        let ctx = RecordContext(tenantCode: "322016", columnFamily: "", recordKey: [])
        #expect(try sealer.open(try sealer.seal([], context: ctx), context: ctx) == [])
    }

    @Test func changedContextFailsAuthentication() throws {
        let sealer = RecordSealer(keyring: ring)
        let envelope = try sealer.seal(plaintext, context: context)
        var tenant = context; tenant.tenantCode = "322017"
        var family = context; family.columnFamily = "vaccinations"
        var key = context; key.recordKey = [0x10, 0x20, 0x31]
        // Shifting a byte between fields must not give the same AAD.
        var shifted = context; shifted.columnFamily = "residents\u{10}"; shifted.recordKey = [0x20, 0x30]
        for other in [tenant, family, key, shifted] {
            let error = cryptoError { _ = try sealer.open(envelope, context: other) }
            #expect(error?.code == .authenticationFailed)
            #expect(error?.description.contains("山田") == false)
        }
    }

    @Test func flippedBitFailsAuthentication() throws {
        let sealer = RecordSealer(keyring: ring)
        let envelope = try sealer.seal(plaintext, context: context)
        // Every byte after the header: nonce, ciphertext and tag.
        for index in 5..<envelope.count {
            var altered = envelope
            altered[index] ^= 0x04
            #expect(cryptoError { _ = try sealer.open(altered, context: context) }?.code == .authenticationFailed)
        }
    }

    @Test func anotherTenantsKeyringCannotOpen() throws {
        let a = RecordSealer(keyring: ring)
        let b = RecordSealer(keyring: TenantKeyring.generate(tenantCode: "131016"))
        let envelope = try a.seal(plaintext, context: context)
        #expect(cryptoError { _ = try b.open(envelope, context: context) }?.code == .authenticationFailed)
        // Even a keyring with the same tenant code but other keys cannot.
        let c = RecordSealer(keyring: TenantKeyring.generate(tenantCode: "322016"))
        #expect(cryptoError { _ = try c.open(envelope, context: context) }?.code == .authenticationFailed)
    }

    @Test func sealingForAnotherTenantIsRefused() throws {
        var other = context; other.tenantCode = "131016"
        #expect(cryptoError { _ = try RecordSealer(keyring: ring).seal(plaintext, context: other) }?.code == .wrongTenant)
    }

    @Test func rotationSealsWithNewVersionAndOpensOld() throws {
        let old = try RecordSealer(keyring: ring).seal(plaintext, context: context)
        let rotated = RecordSealer(keyring: ring.addingDataKeyVersion())
        let new = try rotated.seal(plaintext, context: context)
        #expect(try RecordSealer.keyVersion(of: old) == 1)
        #expect(try RecordSealer.keyVersion(of: new) == 2)
        #expect(try rotated.open(old, context: context) == plaintext)
        #expect(try rotated.open(new, context: context) == plaintext)
        // The pre-rotation keyring does not have v2.
        #expect(cryptoError { _ = try RecordSealer(keyring: ring).open(new, context: context) }?.code == .unknownKeyVersion)
    }

    @Test func relabelledVersionFails() throws {
        let rotated = ring.addingDataKeyVersion()
        var envelope = try RecordSealer(keyring: rotated).seal(plaintext, context: context)
        envelope[4] = 1  // claim v1 for a v2 envelope
        #expect(cryptoError { _ = try RecordSealer(keyring: rotated).open(envelope, context: context) }?.code == .authenticationFailed)
    }

    @Test func keyVersionReadsTheHeader() throws {
        var envelope = [UInt8](repeating: 0, count: 40)
        envelope[0] = 1
        envelope[1...4] = [0x01, 0x02, 0x03, 0x04]
        #expect(try RecordSealer.keyVersion(of: envelope) == 0x0102_0304)
    }

    @Test func truncatedOrUnknownFormatIsMalformed() throws {
        let sealer = RecordSealer(keyring: ring)
        let envelope = try sealer.seal([], context: context)
        #expect(envelope.count == 33)
        for length in [0, 1, 5, 17, 32] {
            let cut = Array(envelope.prefix(length))
            #expect(cryptoError { _ = try sealer.open(cut, context: context) }?.code == .malformedEnvelope)
            #expect(cryptoError { _ = try RecordSealer.keyVersion(of: cut) }?.code == .malformedEnvelope)
        }
        var wrongFormat = envelope
        wrongFormat[0] = 0x02
        #expect(cryptoError { _ = try sealer.open(wrongFormat, context: context) }?.code == .malformedEnvelope)
    }

    @Test func sealingTwiceGivesDifferentEnvelopes() throws {
        let sealer = RecordSealer(keyring: ring)
        let a = try sealer.seal(plaintext, context: context)
        let b = try sealer.seal(plaintext, context: context)
        #expect(a != b)
        #expect(a[5..<17] != b[5..<17], "nonces differ")
    }

    @Test func associatedDataLayout() {
        let aad = RecordEnvelope.associatedData(
            RecordContext(tenantCode: "12", columnFamily: "c", recordKey: [0xff]), version: 258)
        let expected: [UInt8] = Array("renkei.record.v1".utf8)
            + [0, 0, 0, 2] + Array("12".utf8)
            + [0, 0, 0, 1] + Array("c".utf8)
            + [0, 0, 0, 1, 0xff]
            + [0, 0, 1, 2]
        #expect(aad == expected)
    }
}
