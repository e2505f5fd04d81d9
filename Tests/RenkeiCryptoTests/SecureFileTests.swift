import Foundation
import Glibc
import Testing
@testable import RenkeiCrypto

struct SecureFileTests {
    @Test func writeAtomicallyCreates0600File() throws {
        try withTempDirectory { dir in
            let path = dir + "/keyring.json"
            try SecureFile.writeAtomically([1, 2, 3], toPath: path)
            #expect(try fileMode(path) == 0o600)
            #expect(try SecureFile.readAll(atPath: path) == [1, 2, 3])
        }
    }

    @Test func writeAtomicallyReplacesAndLeavesNoTempFiles() throws {
        try withTempDirectory { dir in
            let path = dir + "/keyring.json"
            try SecureFile.writeAtomically(Array(repeating: 7, count: 100_000), toPath: path)
            try SecureFile.writeAtomically([9], toPath: path, mode: 0o640)
            #expect(try SecureFile.readAll(atPath: path) == [9])
            #expect(try fileMode(path) == 0o640)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["keyring.json"])
        }
    }

    @Test func writeIntoMissingDirectoryThrowsIO() throws {
        try withTempDirectory { dir in
            let error = cryptoError { try SecureFile.writeAtomically([1], toPath: dir + "/no/such/file") }
            #expect(error?.code == .io)
        }
    }

    @Test func eraseRemovesTheFile() throws {
        try withTempDirectory { dir in
            let path = dir + "/tenant.keyring"
            try SecureFile.writeAtomically(Array(repeating: 0xAB, count: 70_000), toPath: path)
            // A second name for the same inode shows the bytes were overwritten, not just unlinked.
            let link = dir + "/hardlink"
            #expect(Glibc.link(path, link) == 0)
            try SecureFile.erase(atPath: path)
            #expect(!fileExists(path))
            let leftover = try SecureFile.readAll(atPath: link)
            #expect(leftover.count == 70_000)
            #expect(leftover.allSatisfy { $0 == 0 })
        }
    }

    @Test func eraseMissingFileThrowsKeyFileMissing() throws {
        try withTempDirectory { dir in
            #expect(cryptoError { try SecureFile.erase(atPath: dir + "/gone") }?.code == .keyFileMissing)
        }
    }

    @Test func eraseRefusesSymlinks() throws {
        try withTempDirectory { dir in
            let target = dir + "/target"
            try SecureFile.writeAtomically([1, 2, 3], toPath: target)
            #expect(symlink(target, dir + "/link") == 0)
            #expect(cryptoError { try SecureFile.erase(atPath: dir + "/link") } != nil)
            #expect(try SecureFile.readAll(atPath: target) == [1, 2, 3])
        }
    }

    @Test func readAllMissingFile() throws {
        try withTempDirectory { dir in
            let error = cryptoError { _ = try SecureFile.readAll(atPath: dir + "/missing") }
            #expect(error?.code == .keyFileMissing)
            #expect(error?.message.contains(dir + "/missing") == true)
        }
    }
}
