import Crypto
import Foundation
import Glibc
import Testing
@testable import RenkeiCrypto

/// Writes `plaintext` in uneven pieces with small chunks, so a few KiB make several chunks.
@discardableResult
func sealMedia(_ path: String, _ plaintext: [UInt8], chunkBytes: Int = 1024) throws -> (bytes: Int, sha256Hex: String) {
    let writer = try MediaSeal.Writer(path: path, passphrase: passphrase, parameters: cheapKDF, chunkBytes: chunkBytes, createdAt: Date())
    var rest = plaintext[...]
    var piece = 1
    while !rest.isEmpty {
        try writer.write(Array(rest.prefix(piece)))
        rest = rest.dropFirst(piece)
        piece = piece * 3 + 7
    }
    return try writer.finish()
}

func readFile(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
func writeFile(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// Where the chunks start: after the magic line and the JSON header line.
func headerLength(_ file: [UInt8]) -> Int {
    let newlines = file.indices.filter { file[$0] == UInt8(ascii: "\n") }
    return newlines[1] + 1
}

func expectRejected(_ path: String, phrase: String? = nil, maxBytes: Int = 1 << 30, _ comment: Comment) {
    do {
        _ = try MediaSeal.open(path: path, passphrase: phrase ?? passphrase, maxBytes: maxBytes)
        Issue.record("opened: \(comment)")
    } catch let error as RenkeiCrypto.CryptoError {
        #expect(error.code == .mediaRejected, comment)
        #expect(error.message.contains(path), "the error names the file")
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

/// Expects `body` to throw a `RenkeiCrypto.CryptoError` with `code`.
func expectCode(_ code: RenkeiCrypto.CryptoError.Code, _ comment: Comment, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("did not throw: \(comment)")
    } catch let error as RenkeiCrypto.CryptoError {
        #expect(error.code == code, comment)
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

/// The offset of the first occurrence of `needle` in `haystack`.
func offset(of needle: String, in haystack: [UInt8]) -> Int? {
    let n = Array(needle.utf8)
    guard haystack.count >= n.count else { return nil }
    return (0...(haystack.count - n.count)).first { haystack[$0..<($0 + n.count)].elementsEqual(n) }
}

@Suite struct MediaSealTests {
    let text = Array((0..<300).map { "resident \($0): 1234-5678-9012 Yamada Taro, vaccinated 2026-10-0\($0 % 9 + 1)\n" }.joined().utf8)

    @Test func roundTripsManyChunksAnExactMultipleAndNothing() throws {
        try withTempDirectory { dir in
            for (name, plaintext) in [("many", text), ("exact", Array(text.prefix(4096))), ("one", [UInt8(7)]), ("empty", [])] {
                let path = dir + "/\(name).rkm"
                let result = try sealMedia(path, plaintext)
                #expect(try MediaSeal.open(path: path, passphrase: passphrase) == plaintext, "\(name)")
                let file = try readFile(path)
                #expect(result.bytes == file.count)
                #expect(result.sha256Hex == hexEncode(SHA256.hash(data: file)))
                #expect(try fileMode(path) == 0o600)
                let chunks = max(1, (plaintext.count + 1023) / 1024)
                #expect(file.count == headerLength(file) + plaintext.count + 16 * chunks, "\(name): \(chunks) chunks")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["empty.rkm", "exact.rkm", "many.rkm", "one.rkm"],
                    "no temporary files left behind")
        }
    }

    @Test func thePublicWriterUsesTheDefaultChunkSize() throws {
        try withTempDirectory { dir in
            let path = dir + "/export.rkm"
            let plaintext = (0..<5).flatMap { _ in text }
            let writer = try MediaSeal.Writer(path: path, passphrase: passphrase, parameters: cheapKDF)
            try writer.write(plaintext)
            _ = try writer.finish()
            #expect(try MediaSeal.open(path: path, passphrase: passphrase) == plaintext)
            let file = try readFile(path)
            #expect(file.starts(with: Array("RENKEI-MEDIA-1\n".utf8)))
            let header = try #require(try JSONSerialization.jsonObject(with: Data(file[15..<(headerLength(file) - 1)])) as? [String: Any])
            #expect(header["type"] as? String == MediaSeal.fileType && header["kdf"] as? String == "scrypt")
            #expect(header["costLog2"] as? Int == 4 && header["chunkBytes"] as? Int == MediaSeal.defaultChunkBytes)
            let chunks = (plaintext.count + MediaSeal.defaultChunkBytes - 1) / MediaSeal.defaultChunkBytes
            #expect(chunks > 1)
            #expect(file.count == headerLength(file) + plaintext.count + 16 * chunks)
            #expect(throws: RenkeiCrypto.CryptoError.self) { try writer.write([1]) }
        }
    }

    @Test func theFileHoldsNoPlaintext() throws {
        try withTempDirectory { dir in
            let path = dir + "/export.rkm"
            try sealMedia(path, text)
            let file = try readFile(path)
            for needle in ["1234-5678", "Yamada", "resident ", "vaccinated"] {
                #expect(!contains(file, Array(needle.utf8)), "\(needle) is in the file")
            }
            #expect(!contains(file, Array(passphrase.utf8)))
        }
    }

    @Test func aWrongPassphraseIsRejected() throws {
        try withTempDirectory { dir in
            let path = dir + "/export.rkm"
            try sealMedia(path, text)
            expectRejected(path, phrase: "incorrect horse battery staple", "wrong passphrase")
        }
    }

    @Test func anyFlippedByteIsRejected() throws {
        try withTempDirectory { dir in
            let path = dir + "/export.rkm"
            try sealMedia(path, text)
            let file = try readFile(path)
            let start = headerLength(file)
            // The magic, the header JSON (unparseable, and still valid JSON but
            // different), the first chunk, a middle chunk, the last tag.
            let createdAt = try #require(offset(of: "\"createdAt\":\"2", in: file)) + 13
            #expect(file[createdAt] == UInt8(ascii: "2"))
            for at in [3, 20, start - 3, createdAt, start, start + 3 * 1040 + 500, file.count - 1] {
                var bad = file
                bad[at] ^= 0x01
                try writeFile(path, bad)
                expectRejected(path, "byte \(at) flipped")
            }
        }
    }

    @Test func droppedSwappedAndAppendedChunksAreRejected() throws {
        try withTempDirectory { dir in
            let path = dir + "/export.rkm"
            try sealMedia(path, text)
            let file = try readFile(path)
            let start = headerLength(file)
            let record = 1024 + 16
            let chunk = { (i: Int) in Array(file[(start + i * record)..<min(file.count, start + (i + 1) * record)]) }
            let count = (file.count - start + record - 1) / record
            #expect(count > 4)
            // The last chunk dropped: the one before was not sealed as final.
            try writeFile(path, Array(file[..<(start + (count - 1) * record)]))
            expectRejected(path, "last chunk dropped")
            // Cut mid-chunk, and cut to the header alone.
            try writeFile(path, Array(file.dropLast(5)))
            expectRejected(path, "cut short")
            try writeFile(path, Array(file[..<start]))
            expectRejected(path, "no chunks")
            // Chunks 1 and 2 swapped.
            try writeFile(path, Array(file[..<start]) + chunk(0) + chunk(2) + chunk(1) + (3..<count).flatMap(chunk))
            expectRejected(path, "chunks swapped")
            // A full chunk appended after the real last one.
            let full = Array(text.prefix(1024 * (count - 1)))
            let other = dir + "/full.rkm"
            try sealMedia(other, full)
            let fullFile = try readFile(other)
            try writeFile(other, fullFile + Array(fullFile[start..<(start + record)]))
            expectRejected(other, "chunk appended")
            // The same file back together opens again.
            try writeFile(path, file)
            #expect(try MediaSeal.open(path: path, passphrase: passphrase) == text)
        }
    }

    @Test func existingPathsWeakPassphrasesAndLimitsAreRefused() throws {
        try withTempDirectory { dir in
            let path = dir + "/export.rkm"
            try writeFile(path, Array("keep me".utf8))
            expectCode(.fileExists, "existing file") {
                _ = try MediaSeal.Writer(path: path, passphrase: passphrase, parameters: cheapKDF)
            }
            #expect(try readFile(path) == Array("keep me".utf8))
            expectRejected(path, "not a media file")

            let fresh = dir + "/fresh.rkm"
            expectCode(.weakPassphrase, "weak passphrase on writing") {
                _ = try MediaSeal.Writer(path: fresh, passphrase: "short", parameters: cheapKDF)
            }
            #expect(!fileExists(fresh))
            try sealMedia(fresh, text)
            expectCode(.weakPassphrase, "weak passphrase on opening") {
                _ = try MediaSeal.open(path: fresh, passphrase: "short")
            }
            expectRejected(fresh, maxBytes: text.count - 1, "larger than maxBytes")
            #expect(try MediaSeal.open(path: fresh, passphrase: passphrase, maxBytes: text.count) == text)
            expectCode(.keyFileMissing, "no file") {
                _ = try MediaSeal.open(path: dir + "/missing.rkm", passphrase: passphrase)
            }
        }
    }

    @Test func anUnfinishedWriterLeavesNothing() throws {
        try withTempDirectory { dir in
            do {
                let writer = try MediaSeal.Writer(path: dir + "/export.rkm", passphrase: passphrase, parameters: cheapKDF)
                try writer.write(text)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }
}
