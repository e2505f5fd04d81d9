import Crypto
import Foundation
import Glibc
import Testing
@testable import RenkeiCrypto

/// Serialized because one test changes the process umask.
@Suite(.serialized)
struct MasterKeyTests {
    @Test func createMakesA0600FileEvenWithUmaskZero() throws {
        try withTempDirectory { dir in
            let path = dir + "/master.key"
            let old = umask(0)
            defer { umask(old) }
            _ = try MasterKey.create(atPath: path)
            #expect(try fileMode(path) == 0o600)
        }
    }

    @Test func createWritesLowercaseHexAndNewline() throws {
        try withTempDirectory { dir in
            let path = dir + "/master.key"
            _ = try MasterKey.create(atPath: path)
            let text = String(decoding: try SecureFile.readAll(atPath: path), as: UTF8.self)
            #expect(text.count == 65)
            #expect(text.hasSuffix("\n"))
            #expect(text.dropLast().allSatisfy { "0123456789abcdef".contains($0) })
        }
    }

    @Test func secondCreateThrowsKeyFileExistsAndKeepsTheKey() throws {
        try withTempDirectory { dir in
            let path = dir + "/master.key"
            let first = try MasterKey.create(atPath: path)
            let error = cryptoError { _ = try MasterKey.create(atPath: path) }
            #expect(error?.code == .keyFileExists)
            #expect(try MasterKey.load(fromPath: path).fingerprint == first.fingerprint)
        }
    }

    @Test func loadRoundtrip() throws {
        try withTempDirectory { dir in
            let path = dir + "/master.key"
            let created = try MasterKey.create(atPath: path)
            let loaded = try MasterKey.load(fromPath: path)
            #expect(rawBytes(loaded.key) == rawBytes(created.key))
            #expect(loaded.fingerprint == created.fingerprint)
        }
    }

    @Test func loadRefusesGroupOrOtherAccess() throws {
        try withTempDirectory { dir in
            let path = dir + "/master.key"
            _ = try MasterKey.create(atPath: path)
            for mode: mode_t in [0o644, 0o640, 0o604, 0o620, 0o602] {
                #expect(chmod(path, mode) == 0)
                let error = cryptoError { _ = try MasterKey.load(fromPath: path) }
                #expect(error?.code == .keyFilePermissions)
                #expect(error?.message.contains(path) == true)
                #expect(error?.message.contains("chmod 600") == true)
            }
            #expect(chmod(path, 0o400) == 0)
            _ = try MasterKey.load(fromPath: path)
        }
    }

    @Test func loadMissingFile() throws {
        try withTempDirectory { dir in
            let error = cryptoError { _ = try MasterKey.load(fromPath: dir + "/nope.key") }
            #expect(error?.code == .keyFileMissing)
            #expect(error?.message.contains(dir + "/nope.key") == true)
        }
    }

    @Test(arguments: [
        "",
        "not a key at all",
        String(repeating: "ab", count: 31),                // too short
        String(repeating: "ab", count: 33),                // too long
        String(repeating: "zz", count: 32),                // not hex
    ])
    func loadMalformedContent(_ content: String) throws {
        try withTempDirectory { dir in
            let path = dir + "/master.key"
            try SecureFile.writeAtomically(Array(content.utf8), toPath: path)
            let error = cryptoError { _ = try MasterKey.load(fromPath: path) }
            #expect(error?.code == .keyFileMalformed)
            #expect(error?.message.contains(path) == true)
            if !content.isEmpty {
                #expect(error?.description.contains(content) == false, "must not echo the file content")
            }
        }
    }

    @Test func fromHexAcceptsBothCasesAndWhitespace() throws {
        let hex = String(repeating: "0123456789abcdef", count: 4)
        let a = try MasterKey.fromHex(hex)
        let b = try MasterKey.fromHex(" " + hex.uppercased() + "\n")
        #expect(rawBytes(a.key) == rawBytes(b.key))
        #expect(rawBytes(a.key).count == 32)
        #expect(rawBytes(a.key).first == 0x01)
    }

    @Test(arguments: [0, 2, 62, 63, 65, 66, 128])
    func fromHexWrongLength(_ length: Int) {
        let error = cryptoError { _ = try MasterKey.fromHex(String(repeating: "a", count: length)) }
        #expect(error?.code == .keyFileMalformed)
        #expect(error?.message.contains("\(length) characters") == true)
    }

    @Test func fingerprintIs16HexAndDiffersPerKey() throws {
        let a = MasterKey.generate()
        let b = MasterKey.generate()
        #expect(a.fingerprint.count == 16)
        #expect(a.fingerprint.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(a.fingerprint != b.fingerprint)
        #expect(a.fingerprint == a.fingerprint)
        #expect(!a.hex.hasPrefix(a.fingerprint), "fingerprint must not be a prefix of the key")
    }

    @Test func descriptionDoesNotRevealTheKey() {
        let master = MasterKey.generate()
        var dumped = ""
        dump(master, to: &dumped)
        for text in [String(describing: master), String(reflecting: master), dumped] {
            #expect(!text.contains(master.hex))
            #expect(!text.contains(String(master.hex.prefix(8))))
        }
        #expect(String(describing: master).contains(master.fingerprint))
    }
}

struct KeyWrapTests {
    @Test func wrapUnwrapRoundtrip() throws {
        let master = MasterKey.generate()
        let key = SymmetricKey(size: .bits256)
        let wrapped = try master.wrap(key, context: "ctx-1")
        #expect(wrapped.count == 12 + 32 + 16)
        #expect(!contains(wrapped, rawBytes(key)))
        #expect(rawBytes(try master.unwrap(wrapped, context: "ctx-1")) == rawBytes(key))
    }

    @Test func wrongContextFails() throws {
        let master = MasterKey.generate()
        let wrapped = try master.wrap(SymmetricKey(size: .bits256), context: "ctx-1")
        let error = cryptoError { _ = try master.unwrap(wrapped, context: "ctx-2") }
        #expect(error?.code == .unwrapFailed)
    }

    @Test func otherMasterKeyFails() throws {
        let wrapped = try MasterKey.generate().wrap(SymmetricKey(size: .bits256), context: "ctx")
        let error = cryptoError { _ = try MasterKey.generate().unwrap(wrapped, context: "ctx") }
        #expect(error?.code == .unwrapFailed)
    }

    @Test func alteredOrTruncatedBytesFail() throws {
        let master = MasterKey.generate()
        var wrapped = try master.wrap(SymmetricKey(size: .bits256), context: "ctx")
        #expect(cryptoError { _ = try master.unwrap(Array(wrapped.prefix(20)), context: "ctx") }?.code == .unwrapFailed)
        wrapped[20] ^= 0x01
        #expect(cryptoError { _ = try master.unwrap(wrapped, context: "ctx") }?.code == .unwrapFailed)
    }
}
