import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct PrefixReaders {
        @Test func oneReaderAnswersManyPrefixesLikeScan() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "v")
                for key in ["b/2", "a/3", "a", "a/1", "ab", "a/2", "a0", "b/1", "a/", "c\u{FF}", "d/1"] {
                    try db.put(b(key), b("v:" + key), in: cf, sync: false)
                }
                try db.flush(cf)
                try db.put(b("b/0"), b("v:b/0"), in: cf, sync: false)   // memtable and table files
                let reader = db.makePrefixReader(in: cf)
                // Out of key order and repeated: each seek starts afresh.
                for prefix in ["b/", "a/", "zz", "a/", "c", "d/1", "b/"] {
                    var viaReader: [String] = []
                    try reader.forEach(prefix: b(prefix)) { key, value in
                        #expect(value == b("v:") + key)
                        viaReader.append(String(decoding: key, as: UTF8.self)); return true
                    }
                    var viaScan: [String] = []
                    try db.scan(prefix: b(prefix), in: cf) { key, _ in
                        viaScan.append(String(decoding: key, as: UTF8.self)); return true
                    }
                    #expect(viaReader == viaScan, "prefix \(prefix)")
                }
                var firstTwo: [String] = []
                try reader.forEach(prefix: b("a")) { key, _ in
                    firstTwo.append(String(decoding: key, as: UTF8.self)); return firstTwo.count < 2
                }
                #expect(firstTwo == ["a", "a/"])
            }
        }

        @Test func emptyPrefixAndDroppedFamilyAreRefused() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "gone")
                let reader = db.makePrefixReader(in: cf)
                #expect(throws: StoreError.self) { try reader.forEach(prefix: []) { _, _ in true } }
                try db.dropColumnFamily(cf)
                #expect(throws: StoreError.self) { try reader.forEach(prefix: b("x")) { _, _ in true } }
            }
        }
    }
}
