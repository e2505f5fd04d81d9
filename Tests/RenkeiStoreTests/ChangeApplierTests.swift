import Foundation
import Testing
@testable import RenkeiStore

/// Writes a mixed history into `db`: two tenants' families, puts, deletes,
/// overwrites, a family created and dropped, and the default family.
func writeHistory(_ db: Database) throws {
    let a = try db.createColumnFamily(named: "t1.records")
    let c = try db.createColumnFamily(named: "t2.records")
    for i in 0..<50 {
        let batch = WriteBatch()
        batch.put(b("r\(i)"), b("a\(i)"), in: a)
        batch.put(b("r\(i)"), b("c\(i)"), in: c)
        if i % 5 == 0 { batch.delete(b("r\(i / 2)"), in: a) }
        try db.write(batch, sync: false)
    }
    try db.put(b("r1"), b("overwritten"), in: c)
    try db.put([], [], in: a)
    try db.put(b("meta"), b("node"), in: db.defaultColumnFamily)
    let temp = try db.createColumnFamily(named: "t1.temp")
    try db.put(b("x"), b("y"), in: temp)
    try db.dropColumnFamily(temp)
    let again = try db.createColumnFamily(named: "t1.temp")
    try db.put(b("x2"), b("y2"), in: again)
}

extension StoreTests {
    @Suite struct ChangeApplying {
        @Test func replayReproducesTheSource() throws {
            try withTemporaryDirectory { dir in
                let source = try openLoggedDatabase(in: dir, name: "source")
                try writeHistory(source)
                let target = try openLoggedDatabase(in: dir, name: "target")
                let applier = try ChangeApplier(target: target, after: 0, keepChangeLog: true)
                for record in try source.changes(after: 0, maxEntries: .max, maxBytes: .max) {
                    try applier.apply(record)
                }
                try target.syncWAL()
                #expect(applier.lastApplied == source.lastChangeSequence)
                #expect(try contents(of: target) == contents(of: source))
                #expect(target.columnFamilyNames == source.columnFamilyNames)
                // Same numbers, same times, and (unfiltered) the same bytes.
                #expect(target.lastChangeSequence == source.lastChangeSequence)
                #expect(try target.changes(after: 0, maxEntries: .max, maxBytes: .max)
                    == source.changes(after: 0, maxEntries: .max, maxBytes: .max))
            }
        }

        @Test func replayWithoutKeepingTheLog() throws {
            try withTemporaryDirectory { dir in
                let source = try openLoggedDatabase(in: dir, name: "source")
                try writeHistory(source)
                let target = try openLoggedDatabase(in: dir, name: "target", changeLog: false)
                let applier = try ChangeApplier(target: target, after: 0)
                for entry in try allChanges(source) { try applier.apply(entry) }
                #expect(try contents(of: target) == contents(of: source))
                #expect(!target.hasChangeLog)
                expectStoreError(.invalidArgument) { _ = try ChangeApplier(target: target, after: 0, keepChangeLog: true) }
            }
        }

        @Test func filteredReplayRestoresOneTenant() throws {
            try withTemporaryDirectory { dir in
                let source = try openLoggedDatabase(in: dir, name: "source")
                try writeHistory(source)
                let target = try openLoggedDatabase(in: dir, name: "target")
                let applier = try ChangeApplier(target: target, after: 0, keepChangeLog: true) { family, _ in
                    family.hasPrefix("t1.")
                }
                var applied = 0
                for entry in try allChanges(source) { applied += try applier.apply(entry) }
                #expect(applied > 0)
                var expected = try contents(of: source)
                expected["t2.records"] = nil
                expected["default"] = [:]
                #expect(try contents(of: target) == expected)
                #expect(target.columnFamilyNames == ["default", "t1.records", "t1.temp"])
                // The log keeps every number, holding only the kept ops.
                let logged = try allChanges(target)
                #expect(logged.map(\.seq) == Array(1...source.lastChangeSequence))
                #expect(logged.allSatisfy { $0.ops.allSatisfy { $0.family.hasPrefix("t1.") } })
                #expect(logged.map(\.commitTimeMs) == (try allChanges(source).map(\.commitTimeMs)))
            }
        }

        @Test func gapsAndRepeatsAreRefused() throws {
            try withTemporaryDirectory { dir in
                let source = try openLoggedDatabase(in: dir, name: "source")
                for i in 0..<3 { try source.put(b("k\(i)"), b("v"), in: source.defaultColumnFamily) }
                let entries = try allChanges(source)
                let target = try openLoggedDatabase(in: dir, name: "target")
                let applier = try ChangeApplier(target: target, after: 0, keepChangeLog: true)
                try applier.apply(entries[0])
                let gap = expectStoreError(.corrupt) { try applier.apply(entries[2]) }
                #expect(gap?.message.contains("2–2 missing") == true, "\(String(describing: gap))")
                expectStoreError(.corrupt) { try applier.apply(entries[0]) }
                #expect(applier.lastApplied == 1)
                #expect(target.lastChangeSequence == 1)
                #expect(try target.get(b("k2"), in: target.defaultColumnFamily) == nil)

                let mixed = ChangeEntry(seq: 2, commitTimeMs: 1, ops: [
                    .put(family: "default", key: b("m"), value: b("m")), .dropFamily("default"),
                ])
                expectStoreError(.invalidArgument) { try applier.apply(mixed) }
                #expect(try target.get(b("m"), in: target.defaultColumnFamily) == nil)
                try applier.apply(entries[1])
                try applier.apply(entries[2])
                #expect(try contents(of: target) == contents(of: source))
            }
        }

        /// A restore on top of a checkpoint continues its numbering, and a
        /// replay that stopped resumes from the target's own log.
        @Test func replayContinuesAfterACheckpointAndResumes() throws {
            try withTemporaryDirectory { dir in
                let source = try openLoggedDatabase(in: dir, name: "source")
                try writeHistory(source)
                let base = dir.appendingPathComponent("base").path
                let baseSeq = try #require(try source.createCheckpoint(at: base))
                for i in 0..<10 { try source.put(b("late\(i)"), b("v"), in: source.defaultColumnFamily) }
                let later = try allChanges(source, after: baseSeq)
                #expect(later.count == 10)

                do {
                    let target = try Database.open(path: base)
                    let applier = try ChangeApplier(target: target, after: target.lastChangeSequence, keepChangeLog: true)
                    #expect(applier.lastApplied == baseSeq)
                    for entry in later.prefix(4) { try applier.apply(entry) }
                    expectStoreError(.invalidArgument) {
                        _ = try ChangeApplier(target: target, after: baseSeq, keepChangeLog: true)
                    }
                }
                let target = try Database.open(path: base)
                #expect(target.lastChangeSequence == baseSeq + 4)
                let applier = try ChangeApplier(target: target, after: target.lastChangeSequence, keepChangeLog: true)
                for entry in later.dropFirst(4) { try applier.apply(entry) }
                #expect(try contents(of: target) == contents(of: source))
                #expect(try target.changes(after: 0, maxEntries: .max, maxBytes: .max)
                    == source.changes(after: 0, maxEntries: .max, maxBytes: .max))
            }
        }

        /// A fresh target can start in the middle of a source's numbering
        /// (the entries before are in a base snapshot restored another way).
        @Test func aFreshLogCanStartAfterAnyNumber() throws {
            try withTemporaryDirectory { dir in
                do {
                    let target = try openLoggedDatabase(in: dir)
                    let applier = try ChangeApplier(target: target, after: 100, keepChangeLog: true)
                    try applier.apply(ChangeEntry(seq: 101, commitTimeMs: 5, ops: [.put(family: "f", key: b("k"), value: b("v"))]))
                    #expect(target.lastChangeSequence == 101)
                    #expect(target.firstRetainedChangeSequence == 101)
                }
                let target = try openLoggedDatabase(in: dir)
                #expect(target.lastChangeSequence == 101)
                #expect(try allChanges(target, after: 100).map(\.commitTimeMs) == [5])
                #expect(try target.put(b("k2"), b("v2"), in: target.defaultColumnFamily) == 102)
                // Its own clock never writes a time before the replayed one.
                #expect(try allChanges(target, after: 101)[0].commitTimeMs >= 5)
            }
        }
    }
}
