import Foundation
import Synchronization
import Testing
@testable import RenkeiStore

/// Opens `dir/name` with a change log and a small cache.
func openLoggedDatabase(in dir: URL, name: String = "db", changeLog: Bool = true) throws -> Database {
    try openTestDatabase(in: dir, name: name, options: DatabaseOptions(
        blockCacheBytes: 4 << 20, writeBufferBytes: 4 << 20, changeLog: changeLog))
}

/// Every entry of `db`'s change log, decoded.
func allChanges(_ db: Database, after seq: UInt64 = 0) throws -> [ChangeEntry] {
    try db.changes(after: seq, maxEntries: .max, maxBytes: .max).map { try $0.decode() }
}

/// Every user column family's contents, by family name.
func contents(of db: Database) throws -> [String: [[UInt8]: [UInt8]]] {
    var all: [String: [[UInt8]: [UInt8]]] = [:]
    for name in db.columnFamilyNames {
        var entries: [[UInt8]: [UInt8]] = [:]
        try db.scan(prefix: [], in: try #require(db.columnFamily(named: name))) { k, v in
            entries[k] = v
            return true
        }
        all[name] = entries
    }
    return all
}

extension StoreTests {
    @Suite struct ChangeLogs {
        @Test func sequenceIsContiguousAcrossReopen() throws {
            try withTemporaryDirectory { dir in
                do {
                    let db = try openLoggedDatabase(in: dir)
                    #expect(db.hasChangeLog)
                    #expect(db.lastChangeSequence == 0)
                    #expect(db.firstRetainedChangeSequence == nil)
                    #expect(try db.put(b("a"), b("1"), in: db.defaultColumnFamily) == 1)
                    let batch = WriteBatch()
                    batch.put(b("b"), b("2"), in: db.defaultColumnFamily)
                    batch.put(b("c"), b("3"), in: db.defaultColumnFamily)
                    #expect(try db.write(batch, sync: false) == 2)
                    #expect(try db.delete(b("a"), in: db.defaultColumnFamily) == 3)
                }
                let db = try openLoggedDatabase(in: dir)
                #expect(db.lastChangeSequence == 3)
                #expect(db.firstRetainedChangeSequence == 1)
                #expect(try db.put(b("d"), b("4"), in: db.defaultColumnFamily) == 4)
                let entries = try allChanges(db)
                #expect(entries.map(\.seq) == [1, 2, 3, 4])
                #expect(entries[1].ops == [
                    .put(family: "default", key: b("b"), value: b("2")),
                    .put(family: "default", key: b("c"), value: b("3")),
                ])
                #expect(entries[2].ops == [.delete(family: "default", key: b("a"))])
                // Commit times never go backwards and are close to now.
                #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.commitTimeMs <= $1.commitTimeMs })
                let now = UInt64(Date().timeIntervalSince1970 * 1000)
                #expect(entries.allSatisfy { $0.commitTimeMs <= now && $0.commitTimeMs > now - 600_000 })
            }
        }

        /// The entry is written exactly when the data is: a refused batch
        /// writes neither and leaves the numbering unchanged; a written batch
        /// is unchanged for the caller.
        @Test func entryExistsExactlyWhenDataDoes() throws {
            try withTemporaryDirectory { dir in
                let db = try openLoggedDatabase(in: dir)
                let live = try db.createColumnFamily(named: "live")
                let doomed = try db.createColumnFamily(named: "doomed")
                try db.dropColumnFamily(doomed)
                let before = db.lastChangeSequence
                let bytesBefore = db.changeLogBytes

                let refused = WriteBatch()
                refused.put(b("k"), b("v"), in: live)
                refused.put(b("k"), b("v"), in: doomed)
                expectStoreError(.closed) { try db.write(refused) }
                #expect(try db.get(b("k"), in: live) == nil)
                #expect(db.lastChangeSequence == before)
                #expect(db.changeLogBytes == bytesBefore)

                let longName = String(repeating: "n", count: 300)
                let wide = try db.createFamilyUnlogged(named: longName)
                let tooLong = WriteBatch()
                tooLong.put(b("k"), b("v"), in: live)
                tooLong.put(b("k"), b("v"), in: wide)
                expectStoreError(.invalidArgument) { try db.write(tooLong) }
                #expect(try db.get(b("k"), in: live) == nil)
                #expect(db.lastChangeSequence == before)

                let batch = WriteBatch()
                for i in 0..<100 { batch.put(b("k\(i)"), b("v\(i)"), in: live) }
                let seq = try #require(try db.write(batch))
                #expect(seq == before + 1)
                #expect(batch.count == 100)  // the log entry went in and out again
                let entry = try #require(try allChanges(db, after: seq - 1).first)
                #expect(entry.ops.count == 100)
                for case .put(let family, let key, let value) in entry.ops {
                    #expect(family == "live")
                    #expect(try db.get(key, in: live) == value)
                }
                #expect(db.changeLogBytes > bytesBefore)
                // The same batch can be written again: a second entry, same ops.
                #expect(try db.write(batch) == seq + 1)
                #expect(try allChanges(db, after: seq)[0].ops == entry.ops)
            }
        }

        @Test func concurrentWritersGetDistinctContiguousNumbers() async throws {
            try await withTemporaryDirectory { dir in
                let db = try openLoggedDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "shared")
                let seen = Mutex<[UInt64]>([])
                db.addCommitObserver { seq in seen.withLock { $0.append(seq) } }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<4 {
                        group.addTask {
                            for i in 0..<200 { try db.put(b("w\(w)-\(i)"), b("\(i)"), in: cf, sync: false) }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(db.lastChangeSequence == 801)
                let entries = try allChanges(db)
                #expect(entries.map(\.seq) == Array(1...801))
                #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.commitTimeMs <= $1.commitTimeMs })
                #expect(seen.withLock { $0.sorted() } == Array(2...801))
            }
        }

        @Test func changesAreBounded() throws {
            try withTemporaryDirectory { dir in
                let db = try openLoggedDatabase(in: dir)
                for i in 0..<20 {
                    try db.put(b("k\(i)"), [UInt8](repeating: 1, count: 100), in: db.defaultColumnFamily, sync: false)
                }
                let five = try db.changes(after: 0, maxEntries: 5, maxBytes: .max)
                #expect(five.map(\.seq) == [1, 2, 3, 4, 5])
                let payloadSize = five[0].payload.count
                #expect(five.allSatisfy { $0.payload.count == payloadSize })
                for record in five {
                    #expect(record.commitTimeMs == (try record.decode().commitTimeMs))
                }
                let byBytes = try db.changes(after: 5, maxEntries: 100, maxBytes: payloadSize * 3 + 1)
                #expect(byBytes.map(\.seq) == [6, 7, 8])
                // One entry bigger than the limit still comes back, alone.
                #expect(try db.changes(after: 8, maxEntries: 100, maxBytes: 1).map(\.seq) == [9])
                #expect(try db.changes(after: 15, maxEntries: 100, maxBytes: .max).map(\.seq) == [16, 17, 18, 19, 20])
                #expect(try db.changes(after: 20, maxEntries: 100, maxBytes: .max).isEmpty)
                #expect(try db.changes(after: 3, maxEntries: 0, maxBytes: .max).isEmpty)
                expectStoreError(.invalidArgument) { _ = try db.changes(after: 21, maxEntries: 1, maxBytes: 1) }
            }
        }

        /// A checkpoint after discarding and compacting the log holds the data
        /// once: the log's files no longer carry the discarded entries.
        @Test func compactingTheDiscardedLogShrinksACheckpoint() throws {
            func bytes(under path: String) -> Int {
                let files = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
                return files.reduce(0) { sum, name in
                    sum + ((try? FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? Int) ?? 0)
                }
            }
            try withTemporaryDirectory { dir in
                let db = try openLoggedDatabase(in: dir)
                // Incompressible values: 2,000 × 1 KiB, logged once more in the change log.
                var generator = SystemRandomNumberGenerator()
                for i in 0..<2_000 {
                    let value = (0..<1_024).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    try db.put(b("k\(i)"), value, in: db.defaultColumnFamily, sync: false)
                }
                let withLog = dir.path + "/with-log", compacted = dir.path + "/compacted"
                _ = try db.createCheckpoint(at: withLog)
                try db.discardChanges(through: db.lastChangeSequence)
                try db.compactChangeLog()
                #expect(try db.createCheckpoint(at: compacted) == 2_000)
                let before = bytes(under: withLog), after = bytes(under: compacted)
                #expect(before > 3_800_000, "\(before) bytes with the log")
                #expect(after < 3 * before / 4, "\(after) bytes after compacting vs \(before) with the log")
                #expect(try db.get(b("k1999"), in: db.defaultColumnFamily)?.count == 1_024)
            }
        }

        @Test func discardKeepsNumberingAndShrinksTheGauge() throws {
            try withTemporaryDirectory { dir in
                do {
                    let db = try openLoggedDatabase(in: dir)
                    for i in 0..<10 { try db.put(b("k\(i)"), b("value"), in: db.defaultColumnFamily, sync: false) }
                    let full = db.changeLogBytes
                    let sizes = try db.changes(after: 0, maxEntries: 100, maxBytes: .max).map { 8 + $0.payload.count }
                    #expect(full == sizes.reduce(0, +))

                    try db.discardChanges(through: 4)
                    #expect(db.firstRetainedChangeSequence == 5)
                    #expect(db.changeLogBytes == sizes.dropFirst(4).reduce(0, +))
                    let error = expectStoreError(.discarded) { _ = try db.changes(after: 2, maxEntries: 10, maxBytes: .max) }
                    #expect(error?.message.contains("5") == true)
                    #expect(try db.changes(after: 4, maxEntries: 10, maxBytes: .max).map(\.seq) == [5, 6, 7, 8, 9, 10])
                    try db.discardChanges(through: 3)  // already gone: nothing to do
                    expectStoreError(.invalidArgument) { try db.discardChanges(through: 11) }
                    // Data is untouched by discarding its log entries.
                    #expect(try db.get(b("k0"), in: db.defaultColumnFamily) == b("value"))
                }
                do {
                    let db = try openLoggedDatabase(in: dir)
                    #expect(db.lastChangeSequence == 10)
                    #expect(db.firstRetainedChangeSequence == 5)
                    try db.discardChanges(through: 10)
                    #expect(db.firstRetainedChangeSequence == nil)
                    #expect(db.changeLogBytes == 0)
                    #expect(try db.changes(after: 10, maxEntries: 10, maxBytes: .max).isEmpty)
                    expectStoreError(.discarded) { _ = try db.changes(after: 9, maxEntries: 10, maxBytes: .max) }
                }
                // Everything discarded, then reopened: numbers are not reused.
                let db = try openLoggedDatabase(in: dir)
                #expect(db.lastChangeSequence == 10)
                #expect(db.firstRetainedChangeSequence == nil)
                #expect(try db.put(b("again"), b("x"), in: db.defaultColumnFamily) == 11)
                #expect(db.firstRetainedChangeSequence == 11)
                #expect(try allChanges(db, after: 10).map(\.seq) == [11])
            }
        }

        @Test func checkpointReportsTheSequenceItHolds() async throws {
            try await withTemporaryDirectory { dir in
                let db = try openLoggedDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "data")
                let stop = Atomic<Bool>(false)
                let writer = Task {
                    var i = 0
                    while !stop.load(ordering: .relaxed) && i < 100_000 {
                        try db.put(b(String(format: "k%06d", i)), b("v"), in: cf, sync: false)
                        i += 1
                        if i % 50 == 0 { await Task.yield() }
                    }
                    return i
                }
                while db.lastChangeSequence < 200 { await Task.yield() }
                let path = dir.appendingPathComponent("checkpoint").path
                let seq = try #require(try db.createCheckpoint(at: path))
                stop.store(true, ordering: .relaxed)
                let written = try await writer.value
                #expect(seq >= 201)

                let copy = try Database.open(path: path, options: DatabaseOptions(createIfMissing: false))
                #expect(copy.hasChangeLog)  // a checkpoint keeps the log: sticky
                #expect(copy.lastChangeSequence == seq)
                // Entry n (n ≥ 2) wrote key n-2; the checkpoint holds exactly those up to seq.
                let copied = try #require(copy.columnFamily(named: "data"))
                var keys = 0
                try copy.scan(prefix: [], in: copied) { _, _ in keys += 1; return true }
                #expect(UInt64(keys) == seq - 1)
                #expect(db.lastChangeSequence == UInt64(written) + 1)
                // And it continues the numbering.
                #expect(try copy.put(b("z"), b("z"), in: copied) == seq + 1)
            }
        }

        @Test func familyCreateAndDropAreLoggedAndTheLogIsHidden() throws {
            try withTemporaryDirectory { dir in
                let db = try openLoggedDatabase(in: dir)
                let cf = try db.createColumnFamily(named: "t1")
                try db.put(b("k"), b("v"), in: cf)
                try db.dropColumnFamily(cf)
                #expect(try allChanges(db).map(\.ops) == [
                    [.createFamily("t1")],
                    [.put(family: "t1", key: b("k"), value: b("v"))],
                    [.dropFamily("t1")],
                ])
                #expect(db.columnFamilyNames == ["default"])
                #expect(db.columnFamily(named: Database.changeLogFamilyName) == nil)
                expectStoreError(.invalidArgument) { _ = try db.createColumnFamily(named: Database.changeLogFamilyName) }
                expectStoreError(.invalidArgument) { try db.dropColumnFamily(db.defaultColumnFamily) }
                expectStoreError(.closed) { try db.dropColumnFamily(cf) }
                #expect(db.lastChangeSequence == 3)  // refused drops log nothing
                try db.flush()  // flushes the log family too
            }
        }

        @Test func aLogOnceCreatedKeepsLogging() throws {
            try withTemporaryDirectory { dir in
                do {
                    let db = try openLoggedDatabase(in: dir, changeLog: false)
                    #expect(!db.hasChangeLog)
                    #expect(try db.put(b("a"), b("1"), in: db.defaultColumnFamily) == nil)
                    #expect(try db.createCheckpoint(at: dir.appendingPathComponent("c1").path) == nil)
                    #expect(db.lastChangeSequence == 0)
                    expectStoreError(.invalidArgument) { _ = try db.changes(after: 0, maxEntries: 1, maxBytes: 1) }
                    expectStoreError(.invalidArgument) { try db.discardChanges(through: 0) }
                }
                do {
                    let db = try openLoggedDatabase(in: dir)
                    #expect(try db.put(b("b"), b("2"), in: db.defaultColumnFamily) == 1)
                }
                let db = try openLoggedDatabase(in: dir, changeLog: false)
                #expect(db.hasChangeLog)
                #expect(try db.put(b("c"), b("3"), in: db.defaultColumnFamily) == 2)
            }
        }

        @Test func observersHearEveryLoggedWriteUntilRemoved() throws {
            try withTemporaryDirectory { dir in
                let db = try openLoggedDatabase(in: dir)
                let heard = Mutex<[UInt64]>([])
                let id = db.addCommitObserver { seq in
                    heard.withLock { $0.append(seq) }
                }
                // Observers run without the lock: reading back is allowed.
                let readBack = Mutex<UInt64>(0)
                let reader = db.addCommitObserver { _ in readBack.withLock { $0 = db.lastChangeSequence } }
                let cf = try db.createColumnFamily(named: "x")
                try db.put(b("k"), b("v"), in: cf)
                try db.dropColumnFamily(cf)
                #expect(heard.withLock { $0 } == [1, 2, 3])
                #expect(readBack.withLock { $0 } == 3)
                db.removeCommitObserver(id)
                db.removeCommitObserver(reader)
                try db.put(b("k"), b("v"), in: db.defaultColumnFamily)
                #expect(heard.withLock { $0 } == [1, 2, 3])
            }
        }
    }
}
