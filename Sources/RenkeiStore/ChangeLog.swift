import CRocksDB
import Foundation
import Synchronization

/// The change log of one database: the reserved column family `__changelog`
/// and the sequence state that every logged write goes through.
///
/// Keys are 8-byte big-endian sequence numbers (1, 2, 3, …); values are
/// `ChangeEntry` payloads. Key 0 (eight zero bytes) is not an entry: it holds
/// the highest discarded sequence number, so numbers are never reused even
/// when every entry has been discarded and the database reopened.
final class ChangeLog: Sendable {
    static let familyName = "__changelog"

    struct State {
        /// The last sequence number assigned (0 before the first entry).
        var last: UInt64
        /// The oldest entry still in the log, or nil when it holds none.
        var first: UInt64?
        /// Commit time of the newest entry, so times never go backwards.
        var lastCommitTimeMs: UInt64
        /// Key plus payload bytes of the retained entries.
        var bytes: Int
    }

    struct Observers {
        var next = 0
        var byID: [Int: @Sendable (UInt64) -> Void] = [:]
    }

    let family: ColumnFamily
    let handle: DatabaseHandle
    /// Held across "assign seq + RocksDB write", so seq order is commit order.
    let state: Mutex<State>
    /// Serialises discards (which scan outside `state` to size what they drop).
    let discardLock = Mutex<Void>(())
    let observers = Mutex(Observers())

    /// Opens the log in `family`, recovering the sequence from what is stored.
    init(family: ColumnFamily, handle: DatabaseHandle) throws(StoreError) {
        self.family = family
        self.handle = handle
        self.state = Mutex(try Self.recover(family: family, handle: handle))
    }

    // MARK: Keys

    static func key(_ seq: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8)
        appendBigEndian(seq, to: &out)
        return out
    }

    static func seq(ofKey key: [UInt8]) -> UInt64? {
        guard key.count == 8 else { return nil }
        return key.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func nowMs() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }

    // MARK: Recovery

    private static func recover(family: ColumnFamily, handle: DatabaseHandle) throws(StoreError) -> State {
        let watermarkValue = try withIterator(family: family, handle: handle) { it throws(StoreError) -> [UInt8]? in
            try seek(it, to: key(0))
            guard let (k, v) = try current(it), k == key(0) else { return nil }
            return v
        }
        var discardedThrough: UInt64 = 0
        if let watermarkValue {
            guard let value = seq(ofKey: watermarkValue) else {
                throw StoreError(.corrupt, "change log: the discard mark has \(watermarkValue.count) bytes, not 8")
            }
            discardedThrough = value
        }
        // One pass over the retained entries: checks they are contiguous and
        // sizes them for the gauge. The log holds only what the vault has
        // not acknowledged, which the shipper keeps bounded.
        var first: UInt64?
        var last: UInt64 = discardedThrough
        var lastPayload: [UInt8] = []
        var bytes = 0
        try withIterator(family: family, handle: handle) { it throws(StoreError) in
            try seek(it, to: key(1))
            while let (k, v) = try current(it) {
                guard let seq = seq(ofKey: k) else {
                    throw StoreError(.corrupt, "change log: a key has \(k.count) bytes, not 8")
                }
                guard seq == last + 1 else {
                    throw StoreError(.corrupt, "change log: entry \(seq) follows \(last) (gap or discard mark out of step)")
                }
                if first == nil { first = seq }
                last = seq
                lastPayload = v
                bytes += 8 + v.count
                rocksdb_iter_next(it)
            }
        }
        let time = first == nil ? 0 : try ChangeEntry.commitTimeMs(ofPayload: lastPayload, seq: last)
        return State(last: last, first: first, lastCommitTimeMs: time, bytes: bytes)
    }

    // MARK: Writing

    /// Runs `body` holding the sequence lock, then tells the observers about
    /// the sequence number it returned (if any), after the lock is released.
    func locked<R>(
        _ body: (inout State) throws(StoreError) -> (R, UInt64?)
    ) throws(StoreError) -> R {
        let (result, seq) = try state.withLock { state throws(StoreError) -> (R, UInt64?) in
            try body(&state)
        }
        if let seq { notify(seq) }
        return result
    }

    /// Adds the entry `payload` to `batch`, writes it, and takes the batch's
    /// entry out again (a save point), so the caller's batch is unchanged.
    /// Call holding the sequence lock.
    ///
    /// The batch's families are checked here, under the lock, so a family
    /// dropped (and logged as dropped) cannot get a put logged after its drop.
    ///
    /// - Parameters:
    ///   - expectedSeq: For replay: refuse unless the entry gets this number.
    ///   - commitTimeMs: For replay: the original commit time, else now.
    func append(
        _ state: inout State, batch: WriteBatch, payload: inout [UInt8],
        sync: Bool, expectedSeq: UInt64? = nil, commitTimeMs: UInt64? = nil
    ) throws(StoreError) -> UInt64 {
        for family in batch.families {
            _ = try family.handle(for: handle)
        }
        let batch = batch.raw  // `batch` (the object) stays alive: it is our argument.
        let seq = state.last + 1
        if let expectedSeq, expectedSeq != seq {
            throw StoreError(.invalidArgument, "change entry \(expectedSeq) cannot follow \(state.last): the log takes \(seq) next")
        }
        let time = commitTimeMs ?? max(Self.nowMs(), state.lastCommitTimeMs)
        ChangeEncoder.setCommitTime(time, in: &payload)

        rocksdb_writebatch_set_save_point(batch)
        defer {
            var err: UnsafeMutablePointer<CChar>? = nil
            rocksdb_writebatch_rollback_to_save_point(batch, &err)
            // Fails only without a save point, which was just set.
            if let err { rocksdb_free(err) }
        }
        withCBytes(Self.key(seq)) { k, kLen in
            withCBytes(payload) { v, vLen in
                rocksdb_writebatch_put_cf(batch, family.raw, k, kLen, v, vLen)
            }
        }
        let count = rocksdb_writebatch_count(batch) - 1
        try withRocksError(.write, "writing batch of \(count) with change entry \(seq)") { err in
            rocksdb_write(handle.raw, handle.native.writeOptions(sync: sync), batch, err)
        }
        state.last = seq
        state.lastCommitTimeMs = max(state.lastCommitTimeMs, time)
        state.bytes += 8 + payload.count
        if state.first == nil { state.first = seq }
        return seq
    }

    /// Makes the next entry `after + 1`: for a database restored from another
    /// node's log, whose numbers it continues. Only for a log never written.
    func start(after seq: UInt64) throws(StoreError) {
        try state.withLock { state throws(StoreError) in
            guard state.last != seq else { return }
            guard state.last == 0 else {
                throw StoreError(.invalidArgument, "the change log already ends at \(state.last); it cannot continue after \(seq)")
            }
            try withRocksError(.write, "setting the change log to continue after \(seq)") { err in
                withCBytes(Self.key(0)) { k, kLen in
                    withCBytes(Self.key(seq)) { v, vLen in
                        rocksdb_put_cf(handle.raw, handle.native.syncWrite, family.raw, k, kLen, v, vLen, err)
                    }
                }
            }
            state.last = seq
        }
    }

    // MARK: Observers

    func notify(_ seq: UInt64) {
        let current = observers.withLock { Array($0.byID.values) }
        for observer in current { observer(seq) }
    }

    // MARK: Reading

    /// Creates an iterator over the log family for `body`, destroying it after.
    static func withIterator<R>(
        family: ColumnFamily, handle: DatabaseHandle, _ body: (OpaquePointer) throws(StoreError) -> R
    ) throws(StoreError) -> R {
        guard let it = rocksdb_create_iterator_cf(handle.raw, handle.native.readOptions, family.raw) else {
            throw StoreError(.iterator, "creating an iterator over the change log")
        }
        defer { rocksdb_iter_destroy(it) }
        return try body(it)
    }

    static func seek(_ it: OpaquePointer, to key: [UInt8]) throws(StoreError) {
        withCBytes(key) { k, kLen in rocksdb_iter_seek(it, k, kLen) }
    }

    /// The entry under the iterator, or nil at the end (after checking for an error).
    static func current(_ it: OpaquePointer) throws(StoreError) -> ([UInt8], [UInt8])? {
        guard rocksdb_iter_valid(it) != 0 else {
            try withRocksError(.iterator, "reading the change log") { err in rocksdb_iter_get_error(it, err) }
            return nil
        }
        var keyLength = 0
        let key = copyBytes(rocksdb_iter_key(it, &keyLength), keyLength)
        var valueLength = 0
        let value = copyBytes(rocksdb_iter_value(it, &valueLength), valueLength)
        return (key, value)
    }
}

/// Identifies an observer added with `Database.addCommitObserver(_:)`.
public struct CommitObserverID: Hashable, Sendable {
    let value: Int
}

// MARK: - The change log API of Database

extension Database {
    /// The name of the reserved column family holding the change log. It is
    /// not listed in `columnFamilyNames`, not returned by `columnFamily(named:)`
    /// and cannot be created or written directly.
    public static let changeLogFamilyName = ChangeLog.familyName

    /// Whether this database keeps a change log (see `DatabaseOptions.changeLog`).
    public var hasChangeLog: Bool { changeLog != nil }

    /// The sequence number of the newest change entry; 0 before the first
    /// (and always 0 without a change log). Entries are numbered 1, 2, 3, …
    public var lastChangeSequence: UInt64 {
        changeLog?.state.withLock { $0.last } ?? 0
    }

    /// The oldest entry still held, or `nil` when every entry has been
    /// discarded (or there is no change log).
    public var firstRetainedChangeSequence: UInt64? {
        changeLog?.state.withLock { $0.first }
    }

    /// Approximate bytes the change log holds for the vault: keys plus
    /// payloads of the retained entries (not their size on disk, which
    /// shrinks only as RocksDB compacts discarded ranges away).
    public var changeLogBytes: Int {
        changeLog?.state.withLock { $0.bytes } ?? 0
    }

    /// Up to `maxEntries` change records following `seq`, in order, at most
    /// `maxBytes` of payload in all — but always the first one when there is
    /// one, so a single large entry cannot stall a reader.
    ///
    /// Reads without blocking writers. Returns `[]` when `seq` is the last.
    ///
    /// - Throws: `StoreError` `.invalidArgument` without a change log or for
    ///   a `seq` beyond the last; `.discarded` when entries after `seq` were
    ///   already discarded; `.corrupt` for a gap or an unreadable header.
    public func changes(after seq: UInt64, maxEntries: Int, maxBytes: Int) throws(StoreError) -> [ChangeRecord] {
        let log = try requireChangeLog()
        let (last, first) = log.state.withLock { ($0.last, $0.first) }
        guard seq <= last else {
            throw StoreError(.invalidArgument, "changes after \(seq) asked for, but the change log ends at \(last)")
        }
        guard seq < last, maxEntries > 0 else { return [] }
        guard let first, seq + 1 >= first else {
            throw StoreError(.discarded, "change entries after \(seq) were discarded; the oldest retained is \(first.map(String.init) ?? "none")")
        }
        var records: [ChangeRecord] = []
        var bytes = 0
        try ChangeLog.withIterator(family: log.family, handle: handle) { it throws(StoreError) in
            try ChangeLog.seek(it, to: ChangeLog.key(seq + 1))
            var expected = seq + 1
            while records.count < maxEntries, let (k, v) = try ChangeLog.current(it) {
                guard let got = ChangeLog.seq(ofKey: k), got == expected else {
                    // A discard that ran since `first` was read looks the same.
                    if expected == seq + 1, let now = log.state.withLock({ $0.first }), now > expected {
                        throw StoreError(.discarded, "change entries after \(seq) were discarded; the oldest retained is \(now)")
                    }
                    throw StoreError(.corrupt, "change log: expected entry \(expected), found \(ChangeLog.seq(ofKey: k).map(String.init) ?? "a \(k.count)-byte key")")
                }
                if !records.isEmpty && bytes + v.count > maxBytes { break }
                let time = try ChangeEntry.commitTimeMs(ofPayload: v, seq: got)
                records.append(ChangeRecord(seq: got, commitTimeMs: time, payload: v))
                bytes += v.count
                expected += 1
                rocksdb_iter_next(it)
            }
        }
        return records
    }

    /// Compacts the change log's column family, so discarded entries leave
    /// its files (until then a checkpoint carries them, at full size).
    /// Blocks while RocksDB rewrites the family's files; writes go on.
    ///
    /// - Throws: `StoreError` `.invalidArgument` without a change log.
    public func compactChangeLog() throws(StoreError) {
        let log = try requireChangeLog()
        rocksdb_compact_range_cf(handle.raw, log.family.raw, nil, 0, nil, 0)
    }

    /// Deletes every entry up to and including `seq` (those the vault has
    /// acknowledged), in one write that also records `seq` as discarded, so
    /// the numbering continues after it even across a reopen.
    /// A `seq` before the oldest retained entry does nothing.
    ///
    /// - Throws: `StoreError` `.invalidArgument` without a change log or for a
    ///   `seq` beyond the last; `.write` if RocksDB fails.
    public func discardChanges(through seq: UInt64, sync: Bool = true) throws(StoreError) {
        let log = try requireChangeLog()
        try log.discardLock.withLock { _ throws(StoreError) in
            let (last, first) = log.state.withLock { ($0.last, $0.first) }
            guard seq <= last else {
                throw StoreError(.invalidArgument, "cannot discard through \(seq): the change log ends at \(last)")
            }
            guard let first, seq >= first else { return }
            // Sized outside the sequence lock: entries up to `seq` no longer
            // change, and only this (serialised) path removes them.
            var dropped = 0
            try ChangeLog.withIterator(family: log.family, handle: handle) { it throws(StoreError) in
                try ChangeLog.seek(it, to: ChangeLog.key(first))
                while let (k, v) = try ChangeLog.current(it), let got = ChangeLog.seq(ofKey: k), got <= seq {
                    dropped += 8 + v.count
                    rocksdb_iter_next(it)
                }
            }
            let batch = WriteBatch()
            let start = ChangeLog.key(first), end = ChangeLog.key(seq + 1)
            withCBytes(start) { s, sLen in
                withCBytes(end) { e, eLen in
                    rocksdb_writebatch_delete_range_cf(batch.raw, log.family.raw, s, sLen, e, eLen)
                }
            }
            withCBytes(ChangeLog.key(0)) { k, kLen in
                withCBytes(ChangeLog.key(seq)) { v, vLen in
                    rocksdb_writebatch_put_cf(batch.raw, log.family.raw, k, kLen, v, vLen)
                }
            }
            try withRocksError(.write, "discarding change entries \(first)–\(seq)") { err in
                rocksdb_write(handle.raw, handle.native.writeOptions(sync: sync), batch.raw, err)
            }
            log.state.withLock { state in
                state.bytes -= dropped
                // Writers only ever add after `last`, so what follows `seq`
                // is exactly what is left.
                state.first = seq < state.last ? seq + 1 : nil
            }
        }
    }

    /// Calls `observer` with the sequence number of every logged write from
    /// now on, on the writing thread, after the write (and without any lock
    /// held, so it may read the database). Keep it cheap: it delays the
    /// writer's return. With concurrent writers, calls may arrive out of
    /// order; treat the number as "at least this much is committed".
    /// Never called on a database without a change log.
    @discardableResult
    public func addCommitObserver(_ observer: @escaping @Sendable (UInt64) -> Void) -> CommitObserverID {
        guard let log = changeLog else { return CommitObserverID(value: -1) }
        return log.observers.withLock { observers in
            let id = observers.next
            observers.next += 1
            observers.byID[id] = observer
            return CommitObserverID(value: id)
        }
    }

    /// Stops calling an observer (calls already under way may still finish).
    public func removeCommitObserver(_ id: CommitObserverID) {
        _ = changeLog?.observers.withLock { $0.byID.removeValue(forKey: id.value) }
    }

    func requireChangeLog() throws(StoreError) -> ChangeLog {
        guard let changeLog else {
            throw StoreError(.invalidArgument, "the database at \(path) keeps no change log")
        }
        return changeLog
    }
}
