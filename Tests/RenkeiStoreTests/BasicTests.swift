import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct Basics {
        @Test func openCreatesDatabase() throws {
            try withTemporaryDirectory { dir in
                let path = dir.appendingPathComponent("db").path
                let db = try Database.open(path: path)
                #expect(db.path == path)
                #expect(db.columnFamilyNames == ["default"])
                #expect(db.defaultColumnFamily.name == "default")
                #expect(db.columnFamily(named: "default") === db.defaultColumnFamily)
                #expect(db.columnFamily(named: "nope") == nil)
                #expect(FileManager.default.fileExists(atPath: path + "/CURRENT"))
            }
        }

        @Test func putGetDelete() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = db.defaultColumnFamily
                try db.put(b("k1"), b("v1"), in: cf)
                try db.put(b("k2"), [0, 1, 2, 255], in: cf, sync: false)
                #expect(try db.get(b("k1"), in: cf) == b("v1"))
                #expect(try db.get(b("k2"), in: cf) == [0, 1, 2, 255])
                try db.put(b("k1"), b("v1-new"), in: cf)
                #expect(try db.get(b("k1"), in: cf) == b("v1-new"))
                try db.delete(b("k1"), in: cf)
                #expect(try db.get(b("k1"), in: cf) == nil)
                try db.delete(b("never-there"), in: cf, sync: false)
            }
        }

        @Test func missingKeyIsNilAndEmptyValueIsNot() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = db.defaultColumnFamily
                #expect(try db.get(b("missing"), in: cf) == nil)
                try db.put(b("empty"), [], in: cf)
                #expect(try db.get(b("empty"), in: cf) == [])
                // Also once the value comes from a table file, not the memtable.
                try db.flush(cf)
                #expect(try db.get(b("empty"), in: cf) == [])
                #expect(try db.get(b("missing"), in: cf) == nil)
            }
        }

        @Test func emptyKeyAndLargeValue() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = db.defaultColumnFamily
                let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                try db.put([], b("empty key"), in: cf)
                try db.put(b("big"), big, in: cf)
                #expect(try db.get([], in: cf) == b("empty key"))
                #expect(try db.get(b("big"), in: cf) == big)
            }
        }

        @Test func dataSurvivesReopen() throws {
            try withTemporaryDirectory { dir in
                do {
                    let db = try openTestDatabase(in: dir)
                    try db.put(b("durable"), b("yes"), in: db.defaultColumnFamily)
                    try db.put(b("unsynced"), b("also"), in: db.defaultColumnFamily, sync: false)
                    try db.syncWAL()
                }
                let db = try openTestDatabase(in: dir)
                #expect(try db.get(b("durable"), in: db.defaultColumnFamily) == b("yes"))
                #expect(try db.get(b("unsynced"), in: db.defaultColumnFamily) == b("also"))
            }
        }

        @Test func sequenceNumberAdvancesWithWrites() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let before = db.latestSequenceNumber()
                try db.put(b("a"), b("1"), in: db.defaultColumnFamily)
                try db.put(b("b"), b("2"), in: db.defaultColumnFamily)
                #expect(db.latestSequenceNumber() == before + 2)
            }
        }

        @Test func optionsHaveDocumentedDefaults() {
            let o = DatabaseOptions()
            #expect(o.createIfMissing)
            #expect(o.blockCacheBytes == 64 << 20)
            #expect(o.bloomBitsPerKey == 10)
            #expect(o.writeBufferBytes == 64 << 20)
            #expect(o.maxOpenFiles == 512)
            #expect(o.walTTLSeconds == 0)
            #expect(o.walSizeLimitMB == 0)
            #expect(o.parallelism == 2)
        }
    }
}
