import Crypto
import Foundation
import Testing
@testable import RenkeiCrypto

/// Cheap scrypt so each derivation takes microseconds; the format and the
/// checks are the same as with `.standard`.
let cheapKDF = RecoveryKitParameters(costLog2: 4, blockSize: 1, parallelism: 1)
let passphrase = "correct horse battery staple"

/// A keyring with two data key versions, so "all versions" is exercised.
func rotatedKeyring(_ code: String = "322016") -> TenantKeyring {
    TenantKeyring.generate(tenantCode: code).addingDataKeyVersion()
}

func sameKeys(_ a: TenantKeyring, _ b: TenantKeyring) -> Bool {
    a.tenantCode == b.tenantCode && a.currentDataKeyVersion == b.currentDataKeyVersion
        && a.dataKeyVersions == b.dataKeyVersions && a.indexKeyVersions == b.indexKeyVersions
        && a.dataKeyVersions.allSatisfy { rawBytes(a.dataKeys[$0]!) == rawBytes(b.dataKeys[$0]!) }
        && a.indexKeyVersions.allSatisfy { rawBytes(a.indexKeys[$0]!) == rawBytes(b.indexKeys[$0]!) }
}

/// The kit file as a JSON object, to edit one field.
func kitJSON(_ kit: RecoveryKit) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(try kit.encoded())) as? [String: Any])
}

func kitBytes(_ object: [String: Any]) throws -> [UInt8] {
    Array(try JSONSerialization.data(withJSONObject: object))
}

@Suite struct RecoveryKitTests {
    @Test func roundTripGivesBackEveryKeyVersion() throws {
        let keyring = rotatedKeyring()
        let kit = try RecoveryKit.seal(keyring, passphrase: passphrase, parameters: cheapKDF)
        let parsed = try RecoveryKit(decoding: try kit.encoded())
        #expect(parsed == kit)
        #expect(parsed.tenantCode == "322016")
        #expect(parsed.parameters == cheapKDF)
        #expect(parsed.keyringFingerprint == keyring.fingerprint)
        let opened = try parsed.open(passphrase: passphrase, tenantCode: "322016")
        #expect(sameKeys(opened, keyring))
        #expect(opened.dataKeyVersions == [1, 2])
        #expect(opened.currentDataKeyVersion == 2)
        #expect(opened.fingerprint == keyring.fingerprint)
    }

    @Test func openedKeysOpenRecordsSealedBefore() throws {
        let keyring = rotatedKeyring()
        let context = RecordContext(tenantCode: "322016", columnFamily: "t322016.residents", recordKey: [1, 2, 3])
        let envelope = try RecordSealer(keyring: keyring).seal(Array("record".utf8), context: context)
        let kit = try RecoveryKit.seal(keyring, passphrase: passphrase, parameters: cheapKDF)
        let opened = try kit.open(passphrase: passphrase, tenantCode: "322016")
        #expect(try RecordSealer(keyring: opened).open(envelope, context: context) == Array("record".utf8))
        #expect(BlindIndex(keyring: opened).token("12345", domain: .addressNumber)
                == BlindIndex(keyring: keyring).token("12345", domain: .addressNumber))
    }

    @Test func standardParametersAreMemoryHardAndRecorded() throws {
        #expect(RecoveryKitParameters.standard.memoryBytes == 128 << 20)
        let json = try kitJSON(try RecoveryKit.seal(rotatedKeyring(), passphrase: passphrase, parameters: cheapKDF))
        let kdf = try #require(json["kdf"] as? [String: Any])
        #expect(kdf["algorithm"] as? String == "scrypt")
        #expect(kdf["n"] as? Int == 16 && kdf["r"] as? Int == 1 && kdf["p"] as? Int == 1)
        #expect(json["format"] as? Int == 1 && json["type"] as? String == "renkei-recovery-kit")
        #expect(json["cipher"] as? String == "AES-256-GCM")
        #expect((kdf["salt"] as? String).flatMap { Data(base64Encoded: $0) }?.count == 16)
    }

    @Test func kitFileHoldsNoKeyMaterial() throws {
        let keyring = rotatedKeyring()
        let bytes = try RecoveryKit.seal(keyring, passphrase: passphrase, parameters: cheapKDF).encoded()
        for version in keyring.dataKeyVersions {
            let key = rawBytes(try keyring.dataKey(version: version))
            #expect(!contains(bytes, key))
            #expect(!contains(bytes, Array(Data(key).base64EncodedString().utf8)))
        }
        #expect(!contains(bytes, rawBytes(keyring.indexKey)))
        #expect(!contains(bytes, Array(passphrase.utf8)))
    }

    @Test func wrongPassphraseIsOneClearError() throws {
        let kit = try RecoveryKit.seal(rotatedKeyring(), passphrase: passphrase, parameters: cheapKDF)
        let error = cryptoError { _ = try kit.open(passphrase: "correct horse battery stapler", tenantCode: "322016") }
        #expect(error?.code == .recoveryKitRejected)
        #expect(error?.message.contains("the passphrase does not open this recovery kit") == true)
        #expect(error?.message.contains("or the kit was altered") == true)
    }

    @Test func shortPassphraseIsRefusedNamingTheRule() throws {
        let error = cryptoError { _ = try RecoveryKit.seal(rotatedKeyring(), passphrase: "too short", parameters: cheapKDF) }
        #expect(error?.code == .weakPassphrase)
        #expect(error?.message.contains("at least 16 characters") == true)
        // Characters, not bytes: 16 kana are 48 bytes but 16 characters.
        _ = try RecoveryKit.seal(rotatedKeyring(), passphrase: String(repeating: "あ", count: 16), parameters: cheapKDF)
        #expect(cryptoError { _ = try RecoveryKit.seal(rotatedKeyring(), passphrase: String(repeating: "あ", count: 15), parameters: cheapKDF) }?.code == .weakPassphrase)
        let long = String(repeating: "x", count: RecoveryKit.maximumPassphraseBytes + 1)
        #expect(cryptoError { _ = try RecoveryKit.seal(rotatedKeyring(), passphrase: long, parameters: cheapKDF) }?.code == .weakPassphrase)
    }

    @Test func passphraseIsNormalized() throws {
        // "が" precomposed vs. か + combining dakuten: the same passphrase to a person.
        let composed = "ながいあいことばですがよろしく"  + "が"
        let decomposed = "ながいあいことばですがよろしく" + "か\u{3099}"
        let kit = try RecoveryKit.seal(rotatedKeyring(), passphrase: composed, parameters: cheapKDF)
        _ = try kit.open(passphrase: decomposed, tenantCode: "322016")
    }

    @Test func kitForAnotherTenantIsRefusedBeforeAnyKDFWork() throws {
        let kit = try RecoveryKit.seal(rotatedKeyring("322016"), passphrase: passphrase, parameters: cheapKDF)
        let error = cryptoError { _ = try kit.open(passphrase: passphrase, tenantCode: "322032") }
        #expect(error?.code == .wrongTenant)
        #expect(error?.message.contains("322016") == true && error?.message.contains("322032") == true)
    }

    /// Every field is bound into the seal: an edit that keeps the file
    /// well-formed makes it refuse to open, with the wrong-passphrase error.
    @Test(arguments: ["tenant", "createdAt", "keyringFingerprint", "n", "r", "p", "salt", "sealedKeyring"])
    func editedFieldIsRejected(field: String) throws {
        let keyring = rotatedKeyring()
        let kit = try RecoveryKit.seal(keyring, passphrase: passphrase, parameters: cheapKDF)
        var json = try kitJSON(kit)
        var kdf = try #require(json["kdf"] as? [String: Any])
        var expectedTenant = "322016"
        func flipped(_ base64: Any?) throws -> String {
            let text = try #require(base64 as? String)
            var bytes = [UInt8](try #require(Data(base64Encoded: text)))
            bytes[bytes.count / 2] ^= 0x01
            return Data(bytes).base64EncodedString()
        }
        switch field {
        case "tenant": json["tenant"] = "322032"; expectedTenant = "322032"
        case "createdAt": json["createdAt"] = "2001-01-01T00:00:00Z"
        case "keyringFingerprint": json["keyringFingerprint"] = "0123456789abcdef"
        case "n": kdf["n"] = 32
        case "r": kdf["r"] = 2
        case "p": kdf["p"] = 2
        case "salt": kdf["salt"] = try flipped(kdf["salt"])
        case "sealedKeyring": json["sealedKeyring"] = try flipped(json["sealedKeyring"])
        default: Issue.record("unknown field \(field)")
        }
        json["kdf"] = kdf
        let edited = try RecoveryKit(decoding: try kitBytes(json))
        let error = cryptoError { _ = try edited.open(passphrase: passphrase, tenantCode: expectedTenant) }
        #expect(error?.code == .recoveryKitRejected, "editing \(field)")
        #expect(error?.message.contains("the passphrase does not open this recovery kit") == true)
    }

    @Test func structurallyBrokenKitsAreMalformedNotCrashes() throws {
        let kit = try RecoveryKit.seal(rotatedKeyring(), passphrase: passphrase, parameters: cheapKDF)
        let good = try kitJSON(kit)
        var kdf = try #require(good["kdf"] as? [String: Any])
        var cases: [(String, [UInt8])] = [
            ("not JSON", Array("hello".utf8)),
            ("empty", []),
            ("truncated", Array(try kit.encoded().dropLast(40))),
            ("too big", [UInt8](repeating: 0x20, count: RecoveryKit.maximumFileBytes + 1)),
        ]
        func variant(_ name: String, _ edit: (inout [String: Any], inout [String: Any]) -> Void) throws {
            var json = good, k = kdf
            edit(&json, &k)
            json["kdf"] = k
            cases.append((name, try kitBytes(json)))
        }
        try variant("format 2") { j, _ in j["format"] = 2 }
        try variant("other type") { j, _ in j["type"] = "something-else" }
        try variant("tenant not a code") { j, _ in j["tenant"] = "../../etc" }
        try variant("other kdf") { _, k in k["algorithm"] = "pbkdf2" }
        try variant("other cipher") { j, _ in j["cipher"] = "ROT13" }
        try variant("n not a power of two") { _, k in k["n"] = 100 }
        try variant("n huge") { _, k in k["n"] = 1 << 40 }
        try variant("memory over the limit") { _, k in k["n"] = 1 << 20; k["r"] = 64 }
        try variant("p zero") { _, k in k["p"] = 0 }
        try variant("salt not base64") { _, k in k["salt"] = "***" }
        try variant("salt short") { _, k in k["salt"] = Data([1, 2, 3]).base64EncodedString() }
        try variant("sealed short") { j, _ in j["sealedKeyring"] = Data([1, 2, 3]).base64EncodedString() }
        try variant("field missing") { j, _ in j.removeValue(forKey: "keyringFingerprint") }
        kdf = [:]
        for (name, bytes) in cases {
            let error = cryptoError { _ = try RecoveryKit(decoding: bytes) }
            #expect(error?.code == .recoveryKitMalformed, "\(name)")
            #expect(error?.message.hasPrefix("not a valid recovery kit") == true, "\(name)")
        }
    }

    @Test func parametersOutsideTheLimitsAreRefusedWhenSealing() throws {
        for bad in [RecoveryKitParameters(costLog2: 3, blockSize: 1, parallelism: 1),
                    RecoveryKitParameters(costLog2: 23, blockSize: 1, parallelism: 1),
                    RecoveryKitParameters(costLog2: 20, blockSize: 16, parallelism: 1),
                    RecoveryKitParameters(costLog2: 10, blockSize: 0, parallelism: 1)] {
            #expect(cryptoError { _ = try RecoveryKit.seal(rotatedKeyring(), passphrase: passphrase, parameters: bad) }?.code == .recoveryKitMalformed)
        }
    }

    @Test func descriptionIsRedacted() throws {
        let kit = try RecoveryKit.seal(rotatedKeyring(), passphrase: passphrase, parameters: cheapKDF)
        let json = try kitJSON(kit)
        let salt = try #require((json["kdf"] as? [String: Any])?["salt"] as? String)
        let sealed = try #require(json["sealedKeyring"] as? String)
        var dumped = ""
        dump(kit, to: &dumped)
        for text in ["\(kit)", String(reflecting: kit), dumped] {
            #expect(text.contains("322016"))
            #expect(text.contains(kit.keyringFingerprint))
            #expect(!text.contains(salt) && !text.contains(sealed))
            #expect(!text.contains("sealedKeyring:") && !text.contains("salt"))
        }
    }

    @Test func saveWritesMode0600AndLoadReadsItBack() throws {
        try withTempDirectory { dir in
            let kit = try RecoveryKit.seal(rotatedKeyring(), passphrase: passphrase, parameters: cheapKDF)
            let path = dir + "/kit.json"
            try kit.save(toPath: path)
            #expect(try fileMode(path) == 0o600)
            #expect(try RecoveryKit.load(fromPath: path) == kit)
            try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
            let error = cryptoError { _ = try RecoveryKit.load(fromPath: dir + "/bad.json") }
            #expect(error?.code == .recoveryKitMalformed)
            #expect(error?.message.contains(dir + "/bad.json") == true)
        }
    }

    @Test func fingerprintIdentifiesTheKeyring() {
        let keyring = TenantKeyring.generate(tenantCode: "322016")
        #expect(keyring.fingerprint.count == 16)
        #expect(keyring.fingerprint == keyring.fingerprint)
        #expect(keyring.addingDataKeyVersion().fingerprint != keyring.fingerprint)
        #expect(TenantKeyring.generate(tenantCode: "322016").fingerprint != keyring.fingerprint)
    }

    @Test func sealedKeyringSummaryNeedsNoKey() throws {
        let keyring = rotatedKeyring()
        let sealed = try keyring.sealed(with: MasterKey.generate())
        let summary = try TenantKeyring.summary(ofSealed: sealed)
        #expect(summary == SealedKeyringSummary(tenantCode: "322016", dataKeyVersions: [1, 2], indexKeyVersions: [1]))
        #expect(cryptoError { _ = try TenantKeyring.summary(ofSealed: Array("nope".utf8)) }?.code == .keyFileMalformed)
    }
}
