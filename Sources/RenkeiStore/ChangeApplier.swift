/// Replays change entries, in order, into another database (restore).
///
/// Column families named by an entry are created when first needed, so a
/// replay needs no schema up front. An entry must be numbered exactly one
/// after the previous one: a missing or repeated entry is refused, never
/// skipped. Not `Sendable`: one restore drives one applier.
///
/// With `keepChangeLog` the target's own change log receives each entry
/// under the same sequence number and commit time (holding only the ops the
/// filter kept), in the same RocksDB write as the data, so a restored node
/// continues the source's numbering and a crashed replay resumes at
/// `target.lastChangeSequence`. Without it the target logs the writes as
/// its own, if it keeps a change log at all.
public final class ChangeApplier {
    /// The database entries are applied to.
    public let target: Database
    /// Whether the target's change log takes the source's sequence numbers.
    public let keepChangeLog: Bool
    /// The sequence number of the last entry applied (initially `after`).
    public private(set) var lastApplied: UInt64

    private let include: (String, [UInt8]) -> Bool
    private var families: [String: ColumnFamily] = [:]

    /// Creates an applier whose first entry must be `seq + 1`.
    ///
    /// - Parameters:
    ///   - target: The database to write to.
    ///   - seq: The last entry already contained in `target` (for example the
    ///     sequence number of the checkpoint it was restored from), 0 for none.
    ///   - keepChangeLog: Give the target's change log the same numbers. The
    ///     target must keep a change log that ends at `seq` or was never written.
    ///   - include: Whether to apply an op, given its family name and key (an
    ///     empty key for creating or dropping a family): restoring one tenant
    ///     out of a shared node filters by family name. Rejected ops are
    ///     skipped; the entry still counts (and is logged, without them).
    /// - Throws: `StoreError` `.invalidArgument` when `keepChangeLog` is asked
    ///   for a target without a change log or whose log ends elsewhere.
    public init(
        target: Database, after seq: UInt64, keepChangeLog: Bool = false,
        include: @escaping (String, [UInt8]) -> Bool = { _, _ in true }
    ) throws(StoreError) {
        if keepChangeLog {
            try target.requireChangeLog().start(after: seq)
        }
        self.target = target
        self.keepChangeLog = keepChangeLog
        self.lastApplied = seq
        self.include = include
    }

    /// Decodes `record` and applies it (see `apply(_:sync:)`).
    @discardableResult
    public func apply(_ record: ChangeRecord, sync: Bool = false) throws(StoreError) -> Int {
        try apply(try record.decode(), sync: sync)
    }

    /// Applies one entry atomically (an entry that creates or drops a family
    /// holds only that op). `sync` defaults to `false`: a restore syncs once
    /// at the end (`Database.syncWAL()`), and can be rerun if it dies first.
    ///
    /// - Returns: How many ops the filter let through.
    /// - Throws: `StoreError` `.corrupt` if `entry.seq` is not
    ///   `lastApplied + 1`; `.invalidArgument` for an entry that mixes a family
    ///   create or drop with other ops; write errors of the target.
    @discardableResult
    public func apply(_ entry: ChangeEntry, sync: Bool = false) throws(StoreError) -> Int {
        guard entry.seq == lastApplied &+ 1 else {
            let what = entry.seq <= lastApplied
                ? "was already applied"
                : "leaves entries \(lastApplied + 1)–\(entry.seq - 1) missing"
            throw StoreError(.corrupt, "change entry \(entry.seq) cannot follow \(lastApplied): it \(what)")
        }
        let applied: Int
        if let op = entry.ops.first, entry.ops.count == 1, case .createFamily = op {
            applied = try applyFamilyChange(op, of: entry, sync: sync)
        } else if let op = entry.ops.first, entry.ops.count == 1, case .dropFamily = op {
            applied = try applyFamilyChange(op, of: entry, sync: sync)
        } else {
            applied = try applyBatch(entry, sync: sync)
        }
        lastApplied = entry.seq
        return applied
    }

    // MARK: Private

    private func applyBatch(_ entry: ChangeEntry, sync: Bool) throws(StoreError) -> Int {
        let batch = WriteBatch()
        for op in entry.ops {
            switch op {
            case .put(let name, let key, let value):
                guard include(name, key) else { continue }
                batch.put(key, value, in: try family(name))
            case .delete(let name, let key):
                guard include(name, key) else { continue }
                batch.delete(key, in: try family(name))
            case .createFamily, .dropFamily:
                throw StoreError(.invalidArgument, "change entry \(entry.seq) mixes creating or dropping a column family with other ops")
            }
        }
        if keepChangeLog {
            let log = try target.requireChangeLog()
            var payload = try batch.encodeChange()
            try log.locked { state throws(StoreError) in
                let seq = try log.append(
                    &state, batch: batch, payload: &payload, sync: sync,
                    expectedSeq: entry.seq, commitTimeMs: entry.commitTimeMs)
                return ((), seq)
            }
        } else if batch.count > 0 {
            do {
                try target.write(batch, sync: sync)
            } catch {
                throw StoreError.from(error, .write)
            }
        }
        return batch.count
    }

    private func applyFamilyChange(_ op: ChangeOp, of entry: ChangeEntry, sync: Bool) throws(StoreError) -> Int {
        let included = include(op.family, [])
        guard keepChangeLog else {
            if included { try perform(op, logged: true) }
            return included ? 1 : 0
        }
        let log = try target.requireChangeLog()
        try log.locked { state throws(StoreError) in
            guard state.last == entry.seq - 1 else {
                throw StoreError(.invalidArgument, "change entry \(entry.seq) cannot follow \(state.last) in the target's change log")
            }
            // Done before the entry is logged, and idempotent: a replay that
            // died in between finds the change made and just logs it.
            if included { try perform(op, logged: false) }
            var payload = try ChangeEntry(seq: entry.seq, commitTimeMs: entry.commitTimeMs, ops: included ? [op] : []).encode()
            let seq = try log.append(
                &state, batch: WriteBatch(), payload: &payload, sync: sync,
                expectedSeq: entry.seq, commitTimeMs: entry.commitTimeMs)
            return ((), seq)
        }
        return included ? 1 : 0
    }

    /// Creates or drops a family, tolerating one already created or gone.
    private func perform(_ op: ChangeOp, logged: Bool) throws(StoreError) {
        families[op.family] = nil
        do {
            switch op {
            case .createFamily(let name):
                guard target.columnFamily(named: name) == nil else { return }
                families[name] = logged ? try target.createColumnFamily(named: name) : try target.createFamilyUnlogged(named: name)
            case .dropFamily(let name):
                guard let family = target.columnFamily(named: name) else { return }
                if logged { try target.dropColumnFamily(family) } else { try target.dropFamilyUnlogged(family) }
            case .put, .delete:
                break
            }
        } catch {
            throw StoreError.from(error, .write)
        }
    }

    /// The target family called `name`, created if missing.
    private func family(_ name: String) throws(StoreError) -> ColumnFamily {
        if let cached = families[name], !cached.isDropped { return cached }
        let family: ColumnFamily
        if let existing = target.columnFamily(named: name) {
            family = existing
        } else if keepChangeLog {
            // Not logged: the entry being replayed is what the log records.
            family = try target.createFamilyUnlogged(named: name)
        } else {
            do {
                family = try target.createColumnFamily(named: name)
            } catch {
                throw StoreError.from(error, .write)
            }
        }
        families[name] = family
        return family
    }
}
