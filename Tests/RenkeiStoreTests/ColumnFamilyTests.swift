import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct ColumnFamilies {
        @Test func createWriteCloseReopen() throws {
            try withTemporaryDirectory { dir in
                do {
                    let db = try openTestDatabase(in: dir)
                    let people = try db.createColumnFamily(named: "people")
                    let shots = try db.createColumnFamily(named: "shots")
                    #expect(db.columnFamilyNames == ["default", "people", "shots"])
                    #expect(db.columnFamily(named: "people") === people)
                    try db.put(b("p1"), b("Hanako"), in: people)
                    try db.put(b("s1"), b("dose 1"), in: shots)
                    try db.put(b("d1"), b("plain"), in: db.defaultColumnFamily)
                    // Same key, different families, different values.
                    try db.put(b("shared"), b("people"), in: people)
                    try db.put(b("shared"), b("shots"), in: shots)
                }
                let db = try openTestDatabase(in: dir)
                #expect(db.columnFamilyNames == ["default", "people", "shots"])
                let people = try #require(db.columnFamily(named: "people"))
                let shots = try #require(db.columnFamily(named: "shots"))
                #expect(try db.get(b("p1"), in: people) == b("Hanako"))
                #expect(try db.get(b("s1"), in: shots) == b("dose 1"))
                #expect(try db.get(b("d1"), in: db.defaultColumnFamily) == b("plain"))
                #expect(try db.get(b("shared"), in: people) == b("people"))
                #expect(try db.get(b("shared"), in: shots) == b("shots"))
                #expect(try db.get(b("p1"), in: shots) == nil)
            }
        }

        @Test func dropIsPermanentAndDroppedFamilyIsClosed() throws {
            try withTemporaryDirectory { dir in
                do {
                    let db = try openTestDatabase(in: dir)
                    let temp = try db.createColumnFamily(named: "temp")
                    let keep = try db.createColumnFamily(named: "keep")
                    try db.put(b("k"), b("v"), in: temp)
                    try db.put(b("k"), b("v"), in: keep)
                    try db.dropColumnFamily(temp)
                    #expect(db.columnFamily(named: "temp") == nil)
                    #expect(db.columnFamilyNames == ["default", "keep"])

                    expectStoreError(.closed) { _ = try db.get(b("k"), in: temp) }
                    expectStoreError(.closed) { _ = try db.multiGet([b("k")], in: temp) }
                    expectStoreError(.closed) { try db.put(b("k"), b("v"), in: temp) }
                    expectStoreError(.closed) { try db.delete(b("k"), in: temp) }
                    expectStoreError(.closed) { try db.flush(temp) }
                    expectStoreError(.closed) { try db.compact(temp) }
                    expectStoreError(.closed) { try db.dropColumnFamily(temp) }
                    expectStoreError(.closed) { try db.scan(prefix: [], in: temp) { _, _ in true } }
                    expectStoreError(.closed) { _ = try db.makeIterator(in: temp, prefix: []).next() }
                    let batch = WriteBatch()
                    batch.put(b("k"), b("v"), in: temp)
                    expectStoreError(.closed) { try db.write(batch) }
                    #expect(db.property("rocksdb.estimate-num-keys", in: temp) == nil)
                    #expect(try db.get(b("k"), in: keep) == b("v"))
                }
                let db = try openTestDatabase(in: dir)
                #expect(db.columnFamilyNames == ["default", "keep"])
                // A new family of the old name starts empty.
                let again = try db.createColumnFamily(named: "temp")
                #expect(try db.get(b("k"), in: again) == nil)
            }
        }

        @Test func duplicateCreateThrows() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                _ = try db.createColumnFamily(named: "dup")
                expectStoreError(.columnFamily) { _ = try db.createColumnFamily(named: "dup") }
                expectStoreError(.columnFamily) { _ = try db.createColumnFamily(named: "default") }
                #expect(db.columnFamilyNames == ["default", "dup"])
            }
        }

        @Test func defaultFamilyCannotBeDropped() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                expectStoreError(.invalidArgument) { try db.dropColumnFamily(db.defaultColumnFamily) }
                try db.put(b("still"), b("works"), in: db.defaultColumnFamily)
            }
        }

        @Test func familyOfAnotherDatabaseIsRejected() throws {
            try withTemporaryDirectory { dir in
                let one = try openTestDatabase(in: dir, name: "one")
                let two = try openTestDatabase(in: dir, name: "two")
                let foreign = try two.createColumnFamily(named: "x")
                expectStoreError(.invalidArgument) { try one.put(b("k"), b("v"), in: foreign) }
                expectStoreError(.invalidArgument) { _ = try one.get(b("k"), in: two.defaultColumnFamily) }
                expectStoreError(.invalidArgument) { try one.dropColumnFamily(foreign) }
                let batch = WriteBatch()
                batch.put(b("k"), b("v"), in: one.defaultColumnFamily)
                batch.put(b("k"), b("v"), in: foreign)
                expectStoreError(.invalidArgument) { try one.write(batch) }
                #expect(try one.get(b("k"), in: one.defaultColumnFamily) == nil)
            }
        }

        @Test func heldFamilyKeepsDatabaseOpen() throws {
            try withTemporaryDirectory { dir in
                var held: ColumnFamily?
                do {
                    let db = try openTestDatabase(in: dir)
                    held = try db.createColumnFamily(named: "held")
                }
                // The Database is gone, but the family still owns the DB handle (and its LOCK).
                expectStoreError(.open) { _ = try openTestDatabase(in: dir) }
                #expect(held?.name == "held")
                held = nil
                let db = try openTestDatabase(in: dir)
                #expect(db.columnFamilyNames == ["default", "held"])
            }
        }
    }
}
