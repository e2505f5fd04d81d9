import Foundation
import Testing
@testable import RenkeiStore

extension StoreTests {
    @Suite struct Maintenance {
        @Test func checkpointOpensAsSeparateDatabase() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "records")
                try db.put(b("a"), b("1"), in: db.defaultColumnFamily)
                try db.put(b("r1"), b("record"), in: cf, sync: false)
                let checkpointPath = dir.appendingPathComponent("checkpoint").path
                try db.createCheckpoint(at: checkpointPath)
                try db.put(b("r2"), b("after"), in: cf)

                // Opened while the original is still open: it has its own LOCK.
                let copy = try Database.open(path: checkpointPath, options: DatabaseOptions(createIfMissing: false))
                #expect(copy.columnFamilyNames == ["default", "records"])
                let copied = try #require(copy.columnFamily(named: "records"))
                #expect(try copy.get(b("a"), in: copy.defaultColumnFamily) == b("1"))
                #expect(try copy.get(b("r1"), in: copied) == b("record"))
                #expect(try copy.get(b("r2"), in: copied) == nil)
                #expect(try db.get(b("r2"), in: cf) == b("after"))

                expectStoreError(.checkpoint) { try db.createCheckpoint(at: checkpointPath) }
            }
        }

        @Test func propertiesAreReadable() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "p")
                for i in 0..<1_000 { try db.put(b("k\(i)"), b("v\(i)"), in: cf, sync: false) }
                try db.flush()
                let estimate = try #require(db.property("rocksdb.estimate-num-keys", in: cf))
                let count = try #require(UInt64(estimate))
                #expect(count > 500 && count < 2_000)
                #expect(UInt64(try #require(db.property("rocksdb.estimate-num-keys"))) == 0)
                #expect(try #require(db.property("rocksdb.num-files-at-level0", in: cf)) == "1")
                #expect(db.property("rocksdb.no-such-property") == nil)
                #expect(db.property("rocksdb.stats")?.isEmpty == false)
            }
        }

        /// LZ4, the bloom filter and the shared cache must reach every column
        /// family, including ones created after open and ones reopened later.
        @Test func everyFamilyUsesLZ4AndBloomFilter() throws {
            try withTemporaryDirectory { dir in
                let path = dir.appendingPathComponent("db").path
                do {
                    let db = try openTestDatabase(in: dir)
                    _ = try db.createColumnFamily(named: "early")
                }
                let db = try openTestDatabase(in: dir)
                let late = try db.createColumnFamily(named: "late")
                // Compressible values so the table really holds LZ4 blocks.
                let value = [UInt8](repeating: 0x41, count: 4_000)
                for family in [db.defaultColumnFamily, try #require(db.columnFamily(named: "early")), late] {
                    for i in 0..<200 { try db.put(b("k\(i)"), value, in: family, sync: false) }
                }
                try db.flush()
                try db.compact(late)
                #expect(try db.get(b("k7"), in: late) == value)

                // RocksDB records each family's effective options in OPTIONS-*.
                let files = try FileManager.default.contentsOfDirectory(atPath: path)
                let optionsFile = try #require(files.filter { $0.hasPrefix("OPTIONS-") }.sorted().last)
                let text = try String(contentsOfFile: path + "/" + optionsFile, encoding: .utf8)
                let sections = text.components(separatedBy: "[CFOptions \"").dropFirst()
                #expect(sections.count == 3)
                for section in sections {
                    let name = section.prefix { $0 != "\"" }
                    #expect(section.contains("compression=kLZ4Compression"), "\(name)")
                    // 7.8.3 writes the policy name only, not its bits per key.
                    #expect(section.contains("filter_policy=bloomfilter"), "\(name)")
                }

                // And each table file names LZ4 in its (uncompressed) properties block.
                let tables = files.filter { $0.hasSuffix(".sst") }
                #expect(tables.count >= 3)
                for table in tables {
                    let data = try Data(contentsOf: URL(fileURLWithPath: path + "/" + table))
                    #expect(data.range(of: Data("LZ4".utf8)) != nil, "\(table)")
                    // 200 × 4 KB of 'A' must shrink a lot.
                    #expect(data.count < 200_000, "\(table) is \(data.count) bytes")
                }
            }
        }

        @Test func compactKeepsData() throws {
            try withTemporaryDirectory { dir in
                let db = try openTestDatabase(in: dir)
                let cf = db.defaultColumnFamily
                for round in 0..<3 {
                    for i in 0..<300 { try db.put(b("k\(i)"), b("r\(round)"), in: cf, sync: false) }
                    try db.flush(cf)
                }
                #expect(db.property("rocksdb.num-files-at-level0", in: cf) == "3")
                try db.compact(cf)
                #expect(db.property("rocksdb.num-files-at-level0", in: cf) == "0")
                #expect(try db.get(b("k42"), in: cf) == b("r2"))
            }
        }
    }
}
