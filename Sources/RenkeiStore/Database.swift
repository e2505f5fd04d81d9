import CRocksDB
import Foundation
import Synchronization

/// An open RocksDB database with its column families.
///
/// Safe to share between tasks: RocksDB serialises writes internally and
/// allows concurrent reads, and the column family map is behind a `Mutex`.
///
/// With a change log (`DatabaseOptions.changeLog`) every write also appends
/// one `ChangeEntry` in the same atomic RocksDB write; writes then take a
/// lock around "number the entry + write", so entry order is commit order.
/// The database is closed when the last reference to it — this object, any
/// `ColumnFamily` or any `KeyValueIterator` obtained from it — is released.
public final class Database: Sendable {
    let handle: DatabaseHandle
    /// The family every RocksDB database has; it cannot be dropped.
    public let defaultColumnFamily: ColumnFamily
    private let families: Mutex<[String: ColumnFamily]>
    /// `nil` when the database keeps no change log.
    let changeLog: ChangeLog?

    private init(handle: DatabaseHandle, families: [String: ColumnFamily], changeLog: ChangeLog?) {
        self.handle = handle
        self.defaultColumnFamily = families["default"]!
        self.families = Mutex(families)
        self.changeLog = changeLog
    }

    /// Opens (or, with `createIfMissing`, creates) the database at `path`,
    /// reopening every column family it already has.
    ///
    /// A database with a change log (created now with `options.changeLog`,
    /// or already present) recovers its last sequence number from the log.
    ///
    /// - Throws: `StoreError` `.open` when the path is unusable, the database
    ///   is locked by another opener, or RocksDB refuses the options;
    ///   `.corrupt` when the change log has a gap.
    public static func open(path: String, options: DatabaseOptions = .init()) throws -> Database {
        let native = NativeOptions(options)
        let names = try existingColumnFamilies(at: path, native: native, createIfMissing: options.createIfMissing)

        let cNames = names.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        let constNames = cNames.map { UnsafePointer($0) }
        let familyOptions = [OpaquePointer?](repeating: native.options, count: names.count)
        var rawFamilies = [OpaquePointer?](repeating: nil, count: names.count)

        let raw = try withRocksError(.open, "opening database at \(path)") { err in
            rawFamilies.withUnsafeMutableBufferPointer { out in
                rocksdb_open_column_families(
                    native.options, path, Int32(names.count),
                    constNames, familyOptions, out.baseAddress, err)
            }
        }
        guard let raw else {
            throw StoreError(.open, "opening database at \(path): RocksDB returned no handle")
        }
        let handle = DatabaseHandle(raw: raw, native: native, path: path)
        var map: [String: ColumnFamily] = [:]
        for (name, family) in zip(names, rawFamilies) {
            map[name] = ColumnFamily(name: name, raw: family!, db: handle)
        }
        // The log family is kept apart, so user code cannot reach it by name.
        var logFamily = map.removeValue(forKey: ChangeLog.familyName)
        if logFamily == nil && options.changeLog {
            let raw = try withRocksError(.open, "creating the change log in \(path)") { err in
                rocksdb_create_column_family(handle.raw, native.options, ChangeLog.familyName, err)
            }
            guard let raw else {
                throw StoreError(.open, "creating the change log in \(path): RocksDB returned no handle")
            }
            logFamily = ColumnFamily(name: ChangeLog.familyName, raw: raw, db: handle)
        }
        let changeLog = try logFamily.map { family throws(StoreError) in try ChangeLog(family: family, handle: handle) }
        return Database(handle: handle, families: map, changeLog: changeLog)
    }

    /// The column families stored at `path`, or just "default" for a database
    /// that does not exist yet and may be created.
    private static func existingColumnFamilies(
        at path: String, native: NativeOptions, createIfMissing: Bool
    ) throws(StoreError) -> [String] {
        var count = 0
        var err: UnsafeMutablePointer<CChar>? = nil
        // RocksDB 7.8.3 returns a (possibly empty) list even when it also
        // reports an error, so the list is always destroyed and the error
        // checked first.
        let list = rocksdb_list_column_families(native.options, path, &count, &err)
        defer { if let list { rocksdb_list_column_families_destroy(list, count) } }
        if let err {
            let text = String(cString: err)
            rocksdb_free(err)
            // Listing fails both for a missing database and a broken one; only
            // the former (no CURRENT file) may be created. A path that is not a
            // directory falls through to open, which reports it.
            if createIfMissing && !FileManager.default.fileExists(atPath: path + "/CURRENT") {
                return ["default"]
            }
            throw StoreError(.open, "listing column families at \(path): \(text)")
        }
        guard let list, count > 0 else {
            throw StoreError(.open, "listing column families at \(path): none found")
        }
        let names = (0..<count).map { String(cString: list[$0]!) }
        return names.contains("default") ? names : ["default"] + names
    }

    /// The directory the database lives in.
    public var path: String { handle.path }

    // MARK: Column families

    /// The column family called `name`, or `nil` if there is none
    /// (always `nil` for the change log's reserved family).
    public func columnFamily(named name: String) -> ColumnFamily? {
        families.withLock { $0[name] }
    }

    /// The names of all column families, sorted; without the change log's
    /// reserved family (`Database.changeLogFamilyName`).
    public var columnFamilyNames: [String] {
        families.withLock { $0.keys.sorted() }
    }

    /// Creates a new column family (LZ4, bloom filter, shared cache, like the
    /// others). With a change log, the creation is logged as its own entry,
    /// after the family exists (a crash in between leaves the family
    /// unlogged, which a replay covers by creating families on first use).
    ///
    /// - Throws: `StoreError` `.columnFamily` if it already exists or RocksDB
    ///   fails, `.invalidArgument` for the change log's reserved name.
    public func createColumnFamily(named name: String) throws -> ColumnFamily {
        guard let log = changeLog else { return try createFamilyUnlogged(named: name) }
        return try log.locked { state throws(StoreError) in
            let family = try createFamilyUnlogged(named: name)
            var payload = try ChangeEntry(seq: 0, commitTimeMs: 0, ops: [.createFamily(name)]).encode()
            let seq = try log.append(&state, batch: WriteBatch(), payload: &payload, sync: true)
            return (family, seq)
        }
    }

    /// Creates a family without logging it (replay logs the entry it replays).
    func createFamilyUnlogged(named name: String) throws(StoreError) -> ColumnFamily {
        guard name != ChangeLog.familyName else {
            throw StoreError(.invalidArgument, "'\(name)' is reserved for the change log")
        }
        let handle = self.handle
        // Held across the C call so two creators of one name cannot race.
        return try families.withLock { map throws(StoreError) -> ColumnFamily in
            if map[name] != nil {
                throw StoreError(.columnFamily, "column family '\(name)' already exists")
            }
            let raw = try withRocksError(.columnFamily, "creating column family '\(name)'") { err in
                rocksdb_create_column_family(handle.raw, handle.native.options, name, err)
            }
            guard let raw else {
                throw StoreError(.columnFamily, "creating column family '\(name)': RocksDB returned no handle")
            }
            let family = ColumnFamily(name: name, raw: raw, db: handle)
            map[name] = family
            return family
        }
    }

    /// Drops a column family and its data. Afterwards `cf` is unusable:
    /// every operation with it throws `StoreError` `.closed`.
    ///
    /// With a change log the drop is logged as its own entry, before the
    /// family goes: a crash in between leaves a family the log calls dropped,
    /// so a restore never brings back data its operator meant to drop.
    ///
    /// - Throws: `.invalidArgument` for the default family or a family of
    ///   another database, `.closed` if already dropped, `.columnFamily` if RocksDB fails.
    public func dropColumnFamily(_ cf: ColumnFamily) throws {
        guard let log = changeLog else { return try dropFamilyUnlogged(cf) }
        try log.locked { state throws(StoreError) in
            _ = try cf.handle(for: handle)
            if cf.name == "default" {
                throw StoreError(.invalidArgument, "the default column family cannot be dropped")
            }
            var payload = try ChangeEntry(seq: 0, commitTimeMs: 0, ops: [.dropFamily(cf.name)]).encode()
            let seq = try log.append(&state, batch: WriteBatch(), payload: &payload, sync: true)
            try dropFamilyUnlogged(cf)
            return ((), seq)
        }
    }

    /// Drops a family without logging it (replay logs the entry it replays).
    func dropFamilyUnlogged(_ cf: ColumnFamily) throws(StoreError) {
        let handle = self.handle
        try families.withLock { map throws(StoreError) in
            let raw = try cf.handle(for: handle)
            if cf.name == "default" {
                throw StoreError(.invalidArgument, "the default column family cannot be dropped")
            }
            try withRocksError(.columnFamily, "dropping column family '\(cf.name)'") { err in
                rocksdb_drop_column_family(handle.raw, raw, err)
            }
            cf.markDropped()
            if map[cf.name] === cf { map[cf.name] = nil }
        }
    }

    // MARK: Reads

    /// The value stored under `key`, or `nil` if there is none.
    /// An empty value is returned as `[]`, distinct from a missing key.
    public func get(_ key: [UInt8], in cf: ColumnFamily) throws -> [UInt8]? {
        let family = try cf.handle(for: handle)
        let db = handle.raw
        let readOptions = handle.native.readOptions
        return try withCBytes(key) { k, kLen -> [UInt8]? in
            // The pinned variant returns NULL exactly when the key is missing
            // (no malloc(0) ambiguity for empty values) and skips a copy.
            let slice = try withRocksError(.read, "reading from '\(cf.name)'") { err in
                rocksdb_get_pinned_cf(db, readOptions, family, k, kLen, err)
            }
            guard let slice else { return nil }
            defer { rocksdb_pinnableslice_destroy(slice) }
            var length = 0
            let value = rocksdb_pinnableslice_value(slice, &length)
            return copyBytes(value, length)
        }
    }

    /// Reads many keys of one column family in a single RocksDB MultiGet call.
    /// The result has one entry per key, in the same order; `nil` marks a missing key.
    public func multiGet(_ keys: [[UInt8]], in cf: ColumnFamily) throws -> [[UInt8]?] {
        let family = try cf.handle(for: handle)
        let n = keys.count
        if n == 0 { return [] }

        // One contiguous copy of the keys gives stable pointers for the whole call.
        let totalBytes = keys.reduce(0) { $0 + $1.count }
        let keyBytes = UnsafeMutablePointer<CChar>.allocate(capacity: max(totalBytes, 1))
        let keyPointers = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: n)
        let keySizes = UnsafeMutablePointer<Int>.allocate(capacity: n)
        let values = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: n)
        let errors = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: n)
        defer {
            keyBytes.deallocate()
            keyPointers.deallocate()
            keySizes.deallocate()
            values.deallocate()
            errors.deallocate()
        }
        var offset = 0
        for (i, key) in keys.enumerated() {
            key.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    UnsafeMutableRawPointer(keyBytes + offset).copyMemory(from: base, byteCount: bytes.count)
                }
            }
            keyPointers[i] = UnsafePointer(keyBytes + offset)
            keySizes[i] = key.count
            offset += key.count
        }
        values.initialize(repeating: nil, count: n)
        errors.initialize(repeating: nil, count: n)

        // The batched variant runs RocksDB's real batched MultiGet (sorted
        // lookups, shared block reads) and returns pinned slices.
        rocksdb_batched_multi_get_cf(
            handle.raw, handle.native.readOptions, family,
            n, keyPointers, keySizes, values, errors, false)

        var firstError: String?
        var results: [[UInt8]?] = []
        results.reserveCapacity(n)
        for i in 0..<n {
            if let error = errors[i] {
                if firstError == nil { firstError = String(cString: error) }
                rocksdb_free(error)
            }
            if let slice = values[i] {
                var length = 0
                let value = rocksdb_pinnableslice_value(slice, &length)
                results.append(copyBytes(value, length))
                rocksdb_pinnableslice_destroy(slice)
            } else {
                results.append(nil)
            }
        }
        if let firstError {
            throw StoreError(.read, "multi-get from '\(cf.name)': \(firstError)")
        }
        return results
    }

    /// Calls `body` with every entry of `cf` whose key starts with `prefix`,
    /// in key order, until `body` returns `false`. An empty prefix visits the
    /// whole column family. Errors thrown by `body` are rethrown.
    public func scan(
        prefix: [UInt8], in cf: ColumnFamily,
        body: ([UInt8], [UInt8]) throws -> Bool
    ) throws {
        let iterator = KeyValueIterator(family: cf, owner: handle, prefix: prefix)
        while let (key, value) = try iterator.next() {
            if try !body(key, value) { return }
        }
    }

    /// An iterator over the entries of `cf` whose keys start with `prefix`.
    /// Problems (such as a dropped family) are reported by its first `next()`.
    public func makeIterator(in cf: ColumnFamily, prefix: [UInt8]) -> KeyValueIterator {
        KeyValueIterator(family: cf, owner: handle, prefix: prefix)
    }

    /// An iterator over the entries of `cf` whose keys start with `prefix`,
    /// beginning at the first key at or after `start` (a scan resumed from a
    /// saved cursor seeks there instead of walking everything before it).
    public func makeIterator(in cf: ColumnFamily, prefix: [UInt8], from start: [UInt8]) -> KeyValueIterator {
        KeyValueIterator(family: cf, owner: handle, prefix: prefix, start: start)
    }

    // MARK: Writes

    /// Stores `value` under `key`. With `sync` the WAL is fsynced before returning.
    ///
    /// - Returns: The change entry's sequence number, or `nil` without a change log.
    @discardableResult
    public func put(_ key: [UInt8], _ value: [UInt8], in cf: ColumnFamily, sync: Bool = true) throws -> UInt64? {
        if changeLog != nil {
            let batch = WriteBatch()
            batch.put(key, value, in: cf)
            return try write(batch, sync: sync)
        }
        let family = try cf.handle(for: handle)
        let db = handle.raw
        let writeOptions = handle.native.writeOptions(sync: sync)
        try withCBytes(key) { k, kLen in
            try withCBytes(value) { v, vLen in
                try withRocksError(.write, "writing to '\(cf.name)'") { err in
                    rocksdb_put_cf(db, writeOptions, family, k, kLen, v, vLen, err)
                }
            }
        }
        return nil
    }

    /// Removes `key` (a no-op if absent). With `sync` the WAL is fsynced before returning.
    ///
    /// - Returns: The change entry's sequence number, or `nil` without a change log.
    @discardableResult
    public func delete(_ key: [UInt8], in cf: ColumnFamily, sync: Bool = true) throws -> UInt64? {
        if changeLog != nil {
            let batch = WriteBatch()
            batch.delete(key, in: cf)
            return try write(batch, sync: sync)
        }
        let family = try cf.handle(for: handle)
        let db = handle.raw
        let writeOptions = handle.native.writeOptions(sync: sync)
        try withCBytes(key) { k, kLen in
            try withRocksError(.write, "deleting from '\(cf.name)'") { err in
                rocksdb_delete_cf(db, writeOptions, family, k, kLen, err)
            }
        }
        return nil
    }

    /// Applies every operation of `batch` atomically: all or none become visible.
    /// With `sync` the WAL is fsynced before returning. The batch is left
    /// unchanged and may be cleared and reused.
    ///
    /// With a change log the same RocksDB write appends one change entry
    /// holding the batch's ops, so the entry exists exactly when the data does.
    ///
    /// - Returns: The change entry's sequence number, or `nil` without a change log.
    /// - Throws: `.closed` if the batch touches a dropped family,
    ///   `.invalidArgument` if it touches another database's family (or, with
    ///   a change log, exceeds a `ChangeEntry` limit), `.write` on failure.
    @discardableResult
    public func write(_ batch: WriteBatch, sync: Bool = true) throws -> UInt64? {
        if let log = changeLog {
            // Encoded before taking the lock; only the commit time is patched in under it.
            var payload = try batch.encodeChange()
            return try log.locked { state throws(StoreError) in
                let seq = try log.append(&state, batch: batch, payload: &payload, sync: sync)
                return (seq, seq)
            }
        }
        for family in batch.families {
            _ = try family.handle(for: handle)
        }
        let db = handle.raw
        let writeOptions = handle.native.writeOptions(sync: sync)
        try withRocksError(.write, "writing batch of \(batch.count)") { err in
            rocksdb_write(db, writeOptions, batch.raw, err)
        }
        return nil
    }

    // MARK: Maintenance

    /// Writes a consistent, openable copy of the database to `path`
    /// (hard links where possible). `path` must not exist yet.
    ///
    /// With a change log, writers wait while the checkpoint is made, so it
    /// holds exactly the entries up to the returned sequence number (and its
    /// own change log continues from there when opened).
    ///
    /// - Returns: The last change entry in the checkpoint, or `nil` without a change log.
    @discardableResult
    public func createCheckpoint(at path: String) throws -> UInt64? {
        guard let log = changeLog else {
            try checkpoint(at: path)
            return nil
        }
        return try log.locked { state throws(StoreError) in
            try checkpoint(at: path)
            return (state.last, nil)
        }
    }

    private func checkpoint(at path: String) throws(StoreError) {
        let db = handle.raw
        let checkpoint = try withRocksError(.checkpoint, "preparing checkpoint") { err in
            rocksdb_checkpoint_object_create(db, err)
        }
        guard let checkpoint else {
            throw StoreError(.checkpoint, "preparing checkpoint: RocksDB returned no object")
        }
        defer { rocksdb_checkpoint_object_destroy(checkpoint) }
        // log_size_for_flush 0: always flush memtables so the copy needs no WAL replay.
        try withRocksError(.checkpoint, "creating checkpoint at \(path)") { err in
            rocksdb_checkpoint_create(checkpoint, path, 0, err)
        }
    }

    /// A RocksDB property such as `rocksdb.estimate-num-keys` or `rocksdb.stats`,
    /// for `cf` or the default family; `nil` if unknown or `cf` was dropped.
    public func property(_ name: String, in cf: ColumnFamily? = nil) -> String? {
        let value: UnsafeMutablePointer<CChar>?
        if let cf {
            guard let family = try? cf.handle(for: handle) else { return nil }
            value = rocksdb_property_value_cf(handle.raw, family, name)
        } else {
            value = rocksdb_property_value(handle.raw, name)
        }
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return String(cString: value)
    }

    /// Flushes memtables to table files and waits for completion:
    /// `cf` only, or every column family when `cf` is `nil`.
    public func flush(_ cf: ColumnFamily? = nil) throws {
        let targets: [ColumnFamily] = if let cf { [cf] } else {
            families.withLock { Array($0.values) } + (changeLog.map { [$0.family] } ?? [])
        }
        for family in targets {
            let raw = try family.handle(for: handle)
            try withRocksError(.write, "flushing '\(family.name)'") { err in
                rocksdb_flush_cf(handle.raw, handle.native.flushOptions, raw, err)
            }
        }
    }

    /// Compacts the whole key range of `cf`. RocksDB's C API reports no
    /// compaction error, so this throws only for an unusable `cf`.
    public func compact(_ cf: ColumnFamily) throws {
        let family = try cf.handle(for: handle)
        rocksdb_compact_range_cf(handle.raw, family, nil, 0, nil, 0)
    }

    /// The sequence number of the most recent write.
    public func latestSequenceNumber() -> UInt64 {
        rocksdb_get_latest_sequence_number(handle.raw)
    }

    /// Writes the WAL buffer out and fsyncs it, making every earlier
    /// non-sync write durable.
    public func syncWAL() throws {
        try withRocksError(.write, "syncing WAL") { err in
            rocksdb_flush_wal(handle.raw, 1, err)
        }
    }
}
