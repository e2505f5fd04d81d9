import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct Concurrency {
        @Test func concurrentReadersAndWritersSeeCorrectData() async throws {
            try await withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let shared = try db.createColumnFamily(named: "shared")
                let batch = WriteBatch()
                for i in 0..<1_000 { batch.put(b("s\(i)"), b("shared-\(i)"), in: shared) }
                try db.write(batch)

                let writers = 4, readers = 4, perWriter = 500
                let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                    for w in 0..<writers {
                        group.addTask {
                            // Writers also create families concurrently: the map is shared state.
                            let own = try db.createColumnFamily(named: "writer-\(w)")
                            var bad = 0
                            for i in 0..<perWriter {
                                try db.put(b("w\(w)-\(i)"), b("\(w)/\(i)"), in: shared, sync: false)
                                try db.put(b("\(i)"), b("\(i)"), in: own, sync: false)
                                if try db.get(b("w\(w)-\(i)"), in: shared) != b("\(w)/\(i)") { bad += 1 }
                            }
                            return bad
                        }
                    }
                    for r in 0..<readers {
                        group.addTask {
                            var bad = 0
                            for round in 0..<5 {
                                let keys = (0..<200).map { b("s\(($0 * 7 + r + round) % 1_000)") }
                                let values = try db.multiGet(keys, in: shared)
                                for (key, value) in zip(keys, values) where value != b("shared-") + key.dropFirst() {
                                    bad += 1
                                }
                                var scanned = 0
                                try db.scan(prefix: b("s"), in: shared) { _, _ in scanned += 1; return true }
                                if scanned != 1_000 { bad += 1 }
                            }
                            return bad
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(mismatches == 0)
                #expect(db.columnFamilyNames.count == 2 + writers)
                for w in 0..<writers {
                    let own = try #require(db.columnFamily(named: "writer-\(w)"))
                    #expect(try db.get(b("\(perWriter - 1)"), in: own) == b("\(perWriter - 1)"))
                    #expect(try db.get(b("w\(w)-\(perWriter - 1)"), in: shared) == b("\(w)/\(perWriter - 1)"))
                }
            }
        }
    }
}
