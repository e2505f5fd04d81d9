import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct Batches {
        @Test func batchIsAtomicAcrossFamilies() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let a = try db.createColumnFamily(named: "a")
                let c = try db.createColumnFamily(named: "c")
                try db.put(b("old"), b("x"), in: a)

                let batch = WriteBatch()
                batch.put(b("k1"), b("in a"), in: a)
                batch.put(b("k2"), b("in c"), in: c)
                batch.delete(b("old"), in: a)
                #expect(batch.count == 3)
                // Nothing is visible until the batch is written.
                #expect(try db.get(b("k1"), in: a) == nil)
                #expect(try db.get(b("old"), in: a) == b("x"))

                let before = db.latestSequenceNumber()
                try db.write(batch)
                #expect(db.latestSequenceNumber() == before + 3)
                #expect(try db.get(b("k1"), in: a) == b("in a"))
                #expect(try db.get(b("k2"), in: c) == b("in c"))
                #expect(try db.get(b("old"), in: a) == nil)
            }
        }

        @Test func rejectedBatchAppliesNothing() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let live = try db.createColumnFamily(named: "live")
                let doomed = try db.createColumnFamily(named: "doomed")
                let batch = WriteBatch()
                batch.put(b("k"), b("v"), in: live)
                batch.put(b("k"), b("v"), in: doomed)
                try db.dropColumnFamily(doomed)
                expectStoreError(.closed) { try db.write(batch) }
                #expect(try db.get(b("k"), in: live) == nil)
            }
        }

        @Test func tenThousandPutsInOneBatch() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "bulk")
                let batch = WriteBatch()
                for i in 0..<10_000 {
                    batch.put(b(String(format: "key-%05d", i)), b("value-\(i)"), in: cf)
                }
                #expect(batch.count == 10_000)
                try db.write(batch, sync: true)
                for i in stride(from: 0, to: 10_000, by: 997) {
                    #expect(try db.get(b(String(format: "key-%05d", i)), in: cf) == b("value-\(i)"))
                }
                var seen = 0
                try db.scan(prefix: b("key-"), in: cf) { _, _ in seen += 1; return true }
                #expect(seen == 10_000)

                // A cleared batch is empty and reusable.
                batch.clear()
                #expect(batch.count == 0)
                batch.delete(b("key-00000"), in: cf)
                try db.write(batch, sync: false)
                #expect(try db.get(b("key-00000"), in: cf) == nil)
                #expect(try db.get(b("key-00001"), in: cf) == b("value-1"))
            }
        }

        @Test func emptyBatchWrites() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                try db.write(WriteBatch())
            }
        }
    }
}
