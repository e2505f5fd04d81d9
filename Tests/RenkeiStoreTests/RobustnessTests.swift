import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct Robustness {
        /// Every handle, iterator, batch and option object must be released:
        /// leaked DB handles would show up as LOCK/WAL/MANIFEST descriptors.
        /// Each open/close cycle costs RocksDB ≈20 ms on tmpfs and ≈80 ms on this
        /// machine's disk (new MANIFEST, WAL and OPTIONS files, each fsynced),
        /// so the 2,000 cycles run on /dev/shm where it exists.
        static let openCycles = ProcessInfo.processInfo.environment["RENKEI_STORE_OPEN_CYCLES"]
            .flatMap { Int($0) } ?? 2_000

        @Test func repeatedOpenCloseAndIterationDoNotLeakDescriptors() throws {
            try withTemporaryDirectory(preferMemory: true) { dir in
                do {
                    let db = try openTestDatabase(in: dir)
                    let a = try db.createColumnFamily(named: "a")
                    _ = try db.createColumnFamily(named: "b")
                    let batch = WriteBatch()
                    for i in 0..<1_000 { batch.put(b(String(format: "k%04d", i)), b("v\(i)"), in: a) }
                    try db.write(batch)
                    try db.flush()
                }
                // Warm up once so lazily created global state (thread pools, ...) is not counted.
                do { let db = try openTestDatabase(in: dir); _ = try db.get(b("k0001"), in: db.defaultColumnFamily) }
                let before = try openFileDescriptorCount(under: dir)

                for round in 0..<Self.openCycles {
                    let db = try openTestDatabase(in: dir)
                    let a = try #require(db.columnFamily(named: "a"))
                    if round % 25 == 0 {
                        #expect(try db.get(b("k0042"), in: a) == b("v42"))
                        #expect(db.columnFamilyNames == ["a", "b", "default"])
                    }
                }

                let db = try openTestDatabase(in: dir)
                let a = try #require(db.columnFamily(named: "a"))
                for round in 0..<200 {
                    let iterator = db.makeIterator(in: a, prefix: b("k"))
                    var n = 0
                    while try iterator.next() != nil { n += 1 }
                    if round % 50 == 0 { #expect(n == 1_000) }
                }
                for _ in 0..<200 {
                    let batch = WriteBatch()
                    batch.put(b("tmp"), b("x"), in: a)
                    _ = try db.multiGet([b("k0001"), b("nope")], in: a)
                    _ = db.property("rocksdb.estimate-num-keys", in: a)
                }
                let after = try openFileDescriptorCount(under: dir)
                // The still-open database accounts for a handful (LOCK, WAL, MANIFEST, tables, LOG).
                #expect(after - before <= 16, "descriptors: \(before) before, \(after) after")
            }
        }
    }
}
