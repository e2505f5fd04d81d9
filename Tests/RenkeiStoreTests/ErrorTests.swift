import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct Errors {
        @Test func openingARegularFileFails() throws {
            try withTemporaryDirectory { dir in
                let file = dir.appendingPathComponent("plain-file")
                try Data("not a database".utf8).write(to: file)
                let error = expectStoreError(.open) { _ = try Database.open(path: file.path) }
                #expect(error?.message.contains(file.path) == true, "\(String(describing: error))")
                #expect(error?.cause == nil)
            }
        }

        @Test func openingAMissingDatabaseWithoutCreateFails() throws {
            try withTemporaryDirectory { dir in
                let path = dir.appendingPathComponent("absent").path
                let error = expectStoreError(.open) {
                    _ = try Database.open(path: path, options: DatabaseOptions(createIfMissing: false))
                }
                #expect(error?.message.contains("CURRENT") == true, "\(String(describing: error))")
                // Refused before RocksDB's open, which would create the directory for its LOG.
                #expect(!FileManager.default.fileExists(atPath: path))
            }
        }

        @Test func openingTwiceFailsOnTheLock() throws {
            try withTemporaryDirectory { dir in
                let first = try openTestDatabase(in: dir)
                let error = expectStoreError(.open) { _ = try openTestDatabase(in: dir) }
                #expect(error?.message.lowercased().contains("lock") == true, "\(String(describing: error))")
                try first.put(b("still"), b("usable"), in: first.defaultColumnFamily)
            }
        }

        @Test func descriptionNamesCodeMessageAndCause() {
            struct Underlying: Error, CustomStringConvertible { var description: String { "disk on fire" } }
            let plain = StoreError(.write, "writing batch: IO error")
            #expect(plain.description == "StoreError(write): writing batch: IO error")
            let wrapped = StoreError(.read, "decoding", cause: Underlying())
            #expect(wrapped.description.contains("disk on fire"))
            #expect(StoreError.Code.columnFamily.rawValue == "columnFamily")
        }
    }
}
