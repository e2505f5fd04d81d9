import Crypto
import Foundation
import Testing
@testable import RenkeiCrypto

/// The derivation root (ADR 0011): derived keys survive a change of master key.
@Suite struct DerivationRootTests {
    func bytes(_ key: SymmetricKey) -> [UInt8] { key.withUnsafeBytes { Array($0) } }

    @Test func aKeyNeverRotatedDerivesFromItself() throws {
        let key = try MasterKey.fromHex(String(repeating: "ab", count: 32))
        #expect(key.derivesFromItself)
        // The derivation every node made so far used: HKDF over the key bytes.
        let expected = HKDF<SHA256>.deriveKey(inputKeyMaterial: key.key, info: Array("renkei access v1".utf8), outputByteCount: 32)
        #expect(bytes(key.accessKey()) == bytes(expected))
    }

    @Test func anAdoptedRootGivesTheOldDerivedKeysAndSurvivesSealing() throws {
        let old = MasterKey.generate()
        let new = MasterKey.generate().adoptingDerivationRoot(of: old)
        #expect(!new.derivesFromItself)
        #expect(new.fingerprint != old.fingerprint)
        #expect(bytes(new.auditKey(for: "322016")) == bytes(old.auditKey(for: "322016")))
        #expect(bytes(new.accessKey()) == bytes(old.accessKey()))

        let sealed = try new.sealedDerivationRoot()
        #expect(sealed.count == 12 + 32 + 16)
        let plainNew = try MasterKey.fromHex(new.hex)
        #expect(plainNew.derivesFromItself)
        #expect(bytes(plainNew.accessKey()) != bytes(old.accessKey()), "without the root file the derived keys differ")
        let reloaded = try plainNew.applyingDerivationRoot(sealed: sealed)
        #expect(bytes(reloaded.auditKey(for: "322016")) == bytes(old.auditKey(for: "322016")))
        #expect(bytes(reloaded.accessKey()) == bytes(old.accessKey()))
    }

    @Test func aRootSealedUnderAnotherKeyOrAlteredIsRefused() throws {
        let old = MasterKey.generate()
        let new = MasterKey.generate().adoptingDerivationRoot(of: old)
        var sealed = try new.sealedDerivationRoot()
        let other = cryptoError { _ = try old.applyingDerivationRoot(sealed: sealed) }
        #expect(other?.code == .unwrapFailed)
        #expect(other?.message.contains(old.fingerprint) == true)
        sealed[20] ^= 1
        #expect(cryptoError { _ = try new.applyingDerivationRoot(sealed: sealed) }?.code == .unwrapFailed)
        // A tenant key wrapped under the same master key is not a root: the context differs.
        let wrapped = try new.wrap(SymmetricKey(size: .bits256), context: "renkei.tenant-key.v1|322016|data|1")
        #expect(cryptoError { _ = try new.applyingDerivationRoot(sealed: wrapped) }?.code == .unwrapFailed)
    }
}
