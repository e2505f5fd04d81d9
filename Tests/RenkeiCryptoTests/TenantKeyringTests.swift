import Crypto
import Foundation
import Testing
@testable import RenkeiCrypto

struct TenantKeyringTests {
    let master = MasterKey.generate()

    @Test func generateStartsAtVersionOne() throws {
        let ring = TenantKeyring.generate(tenantCode: "322016")
        #expect(ring.tenantCode == "322016")
        #expect(ring.currentDataKeyVersion == 1)
        #expect(ring.dataKeyVersions == [1])
        #expect(try ring.dataKey(version: 1).bitCount == 256)
        #expect(ring.indexKey.bitCount == 256)
        #expect(rawBytes(try ring.dataKey(version: 1)) != rawBytes(ring.indexKey))
        #expect(cryptoError { _ = try ring.dataKey(version: 2) }?.code == .unknownKeyVersion)
    }

    @Test func addingDataKeyVersionKeepsOldKeys() throws {
        let v1 = TenantKeyring.generate(tenantCode: "322016")
        let v2 = v1.addingDataKeyVersion()
        #expect(v2.currentDataKeyVersion == 2)
        #expect(v2.dataKeyVersions == [1, 2])
        #expect(rawBytes(try v2.dataKey(version: 1)) == rawBytes(try v1.dataKey(version: 1)))
        #expect(rawBytes(try v2.dataKey(version: 2)) != rawBytes(try v1.dataKey(version: 1)))
        #expect(rawBytes(v2.indexKey) == rawBytes(v1.indexKey))
        #expect(v1.currentDataKeyVersion == 1, "the original is unchanged")
    }

    @Test func sealedOpenRoundtripKeepsTheSameKeys() throws {
        let ring = TenantKeyring.generate(tenantCode: "322016").addingDataKeyVersion()
        let bytes = try ring.sealed(with: master)
        let reopened = try TenantKeyring.open(bytes, tenantCode: "322016", master: master)
        #expect(reopened.currentDataKeyVersion == 2)
        #expect(reopened.dataKeyVersions == [1, 2])
        for v in [UInt32(1), 2] {
            #expect(rawBytes(try reopened.dataKey(version: v)) == rawBytes(try ring.dataKey(version: v)))
        }
        #expect(rawBytes(reopened.indexKey) == rawBytes(ring.indexKey))

        // Values sealed with the original open with the reopened keyring, and vice versa.
        let context = RecordContext(tenantCode: "322016", columnFamily: "residents", recordKey: [1, 2])
        let envelope = try RecordSealer(keyring: ring).seal(Array("山田太郎".utf8), context: context)
        #expect(try RecordSealer(keyring: reopened).open(envelope, context: context) == Array("山田太郎".utf8))
        #expect(BlindIndex(keyring: ring).token("123", domain: .addressNumber)
            == BlindIndex(keyring: reopened).token("123", domain: .addressNumber))
    }

    @Test func sealedBytesAreTheDocumentedJSON() throws {
        let ring = TenantKeyring.generate(tenantCode: "322016")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ring.sealed(with: master))) as? [String: Any])
        #expect(json["format"] as? Int == 1)
        #expect(json["tenant"] as? String == "322016")
        #expect(json["currentDataKeyVersion"] as? Int == 1)
        let keys = try #require(json["keys"] as? [[String: Any]])
        #expect(keys.count == 2)
        #expect(Set(keys.compactMap { $0["purpose"] as? String }) == ["data", "index"])
        for key in keys {
            #expect(key["version"] as? Int == 1)
            let base64 = try #require(key["wrapped"] as? String)
            let wrapped = try #require(Data(base64Encoded: base64))
            let purpose = try #require(key["purpose"] as? String)
            let unwrapped = try master.unwrap(Array(wrapped), context: "renkei.tenant-key.v1|322016|\(purpose)|1")
            let expected = purpose == "data" ? try ring.dataKey(version: 1) : ring.indexKey
            #expect(rawBytes(unwrapped) == rawBytes(expected))
        }
    }

    @Test func sealedBytesDoNotContainRawKeys() throws {
        let ring = TenantKeyring.generate(tenantCode: "322016").addingDataKeyVersion()
        let bytes = try ring.sealed(with: master)
        for key in [try ring.dataKey(version: 1), try ring.dataKey(version: 2), ring.indexKey] {
            let raw = rawBytes(key)
            #expect(!contains(bytes, raw))
            #expect(!contains(bytes, Array(Data(raw).base64EncodedString().utf8)))
            #expect(!contains(bytes, Array(hexEncode(raw).utf8)))
        }
    }

    @Test func openAsAnotherTenantThrowsWrongTenant() throws {
        let bytes = try TenantKeyring.generate(tenantCode: "322016").sealed(with: master)
        let error = cryptoError { _ = try TenantKeyring.open(bytes, tenantCode: "131016", master: master) }
        #expect(error?.code == .wrongTenant)
        #expect(error?.message.contains("322016") == true)
        #expect(error?.message.contains("131016") == true)
    }

    @Test func openWithAnotherMasterThrowsUnwrapFailed() throws {
        let bytes = try TenantKeyring.generate(tenantCode: "322016").sealed(with: master)
        let other = MasterKey.generate()
        let error = cryptoError { _ = try TenantKeyring.open(bytes, tenantCode: "322016", master: other) }
        #expect(error?.code == .unwrapFailed)
        #expect(error?.message.contains(other.fingerprint) == true)
    }

    /// Edits the JSON of a sealed keyring.
    private func tampered(_ ring: TenantKeyring, _ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
        var json = try #require(try JSONSerialization.jsonObject(with: Data(ring.sealed(with: master))) as? [String: Any])
        edit(&json)
        return Array(try JSONSerialization.data(withJSONObject: json))
    }

    @Test func tamperedFilesAreRejected() throws {
        let ring = TenantKeyring.generate(tenantCode: "322016")
        func open(_ bytes: [UInt8]) -> RenkeiCrypto.CryptoError.Code? {
            cryptoError { _ = try TenantKeyring.open(bytes, tenantCode: "322016", master: master) }?.code
        }
        var bytes = try ring.sealed(with: master)
        #expect(open(Array(bytes.prefix(bytes.count / 2))) == .keyFileMalformed)
        #expect(open([]) == .keyFileMalformed)

        // Flip one character inside a wrapped key's base64.
        let text = String(decoding: bytes, as: UTF8.self)
        let range = try #require(text.range(of: "\"wrapped\" : \""))
        let at = text.utf8.distance(from: text.utf8.startIndex, to: range.upperBound.samePosition(in: text.utf8)!) + 5
        bytes[at] = bytes[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(open(bytes) == .unwrapFailed)

        #expect(open(try tampered(ring) { $0["format"] = 2 }) == .keyFileMalformed)
        #expect(open(try tampered(ring) { $0["currentDataKeyVersion"] = 2 }) == .keyFileMalformed)
        #expect(open(try tampered(ring) { $0["keys"] = [] }) == .keyFileMalformed)
        // Swapping the wrapped data and index keys: contexts bind the purpose.
        #expect(open(try tampered(ring) { json in
            var keys = json["keys"] as! [[String: Any]]
            let first = keys[0]["wrapped"]
            keys[0]["wrapped"] = keys[1]["wrapped"]
            keys[1]["wrapped"] = first
            json["keys"] = keys
        }) == .unwrapFailed)
        // Relabelling a key's version: the context binds the version.
        #expect(open(try tampered(ring) { json in
            var keys = json["keys"] as! [[String: Any]]
            for i in keys.indices where keys[i]["purpose"] as? String == "data" { keys[i]["version"] = 2 }
            json["keys"] = keys
            json["currentDataKeyVersion"] = 2
        }) == .unwrapFailed)
        // Renaming the tenant inside the file to match the caller: contexts bind the tenant.
        let other = try TenantKeyring.generate(tenantCode: "131016").sealed(with: master)
        let renamed = Array(String(decoding: other, as: UTF8.self).replacingOccurrences(of: "131016", with: "322016").utf8)
        #expect(open(renamed) == .unwrapFailed)
    }

    @Test func saveAndLoadThroughAFile() throws {
        try withTempDirectory { dir in
            let path = dir + "/322016.keyring"
            let ring = TenantKeyring.generate(tenantCode: "322016")
            try ring.save(toPath: path, with: master)
            #expect(try fileMode(path) == 0o600)
            let loaded = try TenantKeyring.load(fromPath: path, tenantCode: "322016", master: master)
            #expect(rawBytes(loaded.indexKey) == rawBytes(ring.indexKey))
            let wrong = cryptoError { _ = try TenantKeyring.load(fromPath: path, tenantCode: "131016", master: master) }
            #expect(wrong?.code == .wrongTenant)
            #expect(wrong?.message.contains(path) == true)

            // Crypto-shredding: once the file is erased the keys are gone.
            try SecureFile.erase(atPath: path)
            let gone = cryptoError { _ = try TenantKeyring.load(fromPath: path, tenantCode: "322016", master: master) }
            #expect(gone?.code == .keyFileMissing)
        }
    }

    @Test func descriptionDoesNotRevealKeys() throws {
        let ring = TenantKeyring.generate(tenantCode: "322016")
        var dumped = ""
        dump(ring, to: &dumped)
        for text in [String(describing: ring), String(reflecting: ring), dumped] {
            #expect(!text.contains(hexEncode(rawBytes(try ring.dataKey(version: 1))).prefix(8)))
            #expect(!text.contains(hexEncode(rawBytes(ring.indexKey)).prefix(8)))
            #expect(text.contains("322016"))
        }
    }
}
