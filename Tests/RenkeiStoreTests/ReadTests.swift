import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct Reads {
        @Test func multiGetKeepsOrderAndMarksMissing() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "m")
                for i in stride(from: 0, to: 100, by: 2) {
                    try db.put(b("k\(i)"), b("v\(i)"), in: cf, sync: false)
                }
                try db.put(b("empty"), [], in: cf, sync: false)
                // Half of the data from table files, half from the memtable.
                try db.flush(cf)
                for i in stride(from: 100, to: 200, by: 2) {
                    try db.put(b("k\(i)"), b("v\(i)"), in: cf, sync: false)
                }
                let keys = (0..<200).reversed().map { b("k\($0)") } + [b("empty"), b("k4"), []]
                let values = try db.multiGet(keys, in: cf)
                #expect(values.count == keys.count)
                for (i, n) in (0..<200).reversed().enumerated() {
                    #expect(values[i] == (n % 2 == 0 ? b("v\(n)") : nil), "key k\(n)")
                }
                #expect(values[200] == [])
                #expect(values[201] == b("v4"))
                #expect(values[202] == nil)
                #expect(try db.multiGet([], in: cf).isEmpty)
            }
        }

        @Test func prefixScanVisitsOnlyPrefixInOrder() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = db.defaultColumnFamily
                for key in ["b/2", "a/3", "a", "a/1", "ab", "a/2", "a0", "b/1", "a/"] {
                    try db.put(b(key), b("v:" + key), in: cf, sync: false)
                }
                var keys: [String] = []
                try db.scan(prefix: b("a/"), in: cf) { key, value in
                    #expect(value == b("v:") + key)
                    keys.append(String(decoding: key, as: UTF8.self))
                    return true
                }
                #expect(keys == ["a/", "a/1", "a/2", "a/3"])

                var all: [String] = []
                try db.scan(prefix: [], in: cf) { key, _ in
                    all.append(String(decoding: key, as: UTF8.self)); return true
                }
                #expect(all == ["a", "a/", "a/1", "a/2", "a/3", "a0", "ab", "b/1", "b/2"])

                var firstTwo: [String] = []
                try db.scan(prefix: b("a"), in: cf) { key, _ in
                    firstTwo.append(String(decoding: key, as: UTF8.self))
                    return firstTwo.count < 2
                }
                #expect(firstTwo == ["a", "a/"])

                var none = 0
                try db.scan(prefix: b("zzz"), in: cf) { _, _ in none += 1; return true }
                #expect(none == 0)
            }
        }

        @Test func scanWithAll0xFFPrefix() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = db.defaultColumnFamily
                let keys: [[UInt8]] = [[0xFE], [0xFE, 0xFF], [0xFF], [0xFF, 0x00], [0xFF, 0xFF, 0x01], [0xFF, 0xFF]]
                for key in keys { try db.put(key, key, in: cf, sync: false) }
                var seen: [[UInt8]] = []
                try db.scan(prefix: [0xFF, 0xFF], in: cf) { key, _ in seen.append(key); return true }
                #expect(seen == [[0xFF, 0xFF], [0xFF, 0xFF, 0x01]])
                seen = []
                try db.scan(prefix: [0xFE], in: cf) { key, _ in seen.append(key); return true }
                #expect(seen == [[0xFE], [0xFE, 0xFF]])
                #expect(prefixSuccessor([0x01, 0xFF]) == [0x02])
                #expect(prefixSuccessor([0xFF, 0xFF]) == nil)
                #expect(prefixSuccessor([]) == nil)
            }
        }

        @Test func scanRethrowsBodyErrors() throws {
            struct Stop: Error {}
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                try db.put(b("x1"), b("1"), in: db.defaultColumnFamily)
                #expect(throws: Stop.self) {
                    try db.scan(prefix: b("x"), in: db.defaultColumnFamily) { _, _ in throw Stop() }
                }
            }
        }

        @Test func iteratorObject() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "it")
                for i in (0..<50).reversed() {
                    try db.put(b(String(format: "p/%03d", i)), b("\(i)"), in: cf, sync: false)
                }
                try db.put(b("q/000"), b("other"), in: cf, sync: false)
                // Half in table files, and an overwrite in the memtable on top.
                try db.flush(cf)
                try db.put(b("p/010"), b("ten"), in: cf, sync: false)

                let iterator = db.makeIterator(in: cf, prefix: b("p/"))
                var n = 0
                while let (key, value) = try iterator.next() {
                    #expect(key == b(String(format: "p/%03d", n)))
                    #expect(value == (n == 10 ? b("ten") : b("\(n)")))
                    n += 1
                }
                #expect(n == 50)
                #expect(try iterator.next() == nil)

                // The iterator sees the data as of its creation.
                let snapshot = db.makeIterator(in: cf, prefix: b("q/"))
                try db.put(b("q/001"), b("later"), in: cf)
                #expect(try snapshot.next()?.key == b("q/000"))
                #expect(try snapshot.next() == nil)
            }
        }
    }
}
