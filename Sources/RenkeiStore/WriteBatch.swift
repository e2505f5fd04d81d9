import CRocksDB

/// A set of puts and deletes, possibly across column families, applied
/// atomically by `Database.write(_:sync:)`.
///
/// Not `Sendable`: build a batch on one task and write it from there.
/// The C batch is destroyed in `deinit`, whether or not it was written.
public final class WriteBatch {
    let raw: OpaquePointer
    // The C batch records only column family IDs, so the batch remembers the
    // families it touched: `write` can then refuse dropped families and
    // families of another database instead of writing to the wrong place.
    private(set) var families: [ColumnFamily] = []
    // The ops again, by family index: a change-logged database encodes them
    // by family name, which the C batch does not know (and 7.8.3's
    // rocksdb_writebatch_iterate does not report column family ops). Keys
    // and values are shared with the caller's arrays, not copied.
    private var ops: [(kind: ChangeOpKind, family: Int, key: [UInt8], value: [UInt8])] = []

    /// Creates an empty batch.
    public init() {
        raw = rocksdb_writebatch_create()!
    }

    deinit {
        rocksdb_writebatch_destroy(raw)
    }

    /// Adds a put of `value` under `key` in `cf`.
    public func put(_ key: [UInt8], _ value: [UInt8], in cf: ColumnFamily) {
        ops.append((.put, remember(cf), key, value))
        withCBytes(key) { k, kLen in
            withCBytes(value) { v, vLen in
                rocksdb_writebatch_put_cf(raw, cf.raw, k, kLen, v, vLen)
            }
        }
    }

    /// Adds a delete of `key` in `cf`.
    public func delete(_ key: [UInt8], in cf: ColumnFamily) {
        ops.append((.delete, remember(cf), key, []))
        withCBytes(key) { k, kLen in
            rocksdb_writebatch_delete_cf(raw, cf.raw, k, kLen)
        }
    }

    /// The number of operations in the batch.
    public var count: Int {
        Int(rocksdb_writebatch_count(raw))
    }

    /// Removes every operation so the batch can be reused.
    public func clear() {
        rocksdb_writebatch_clear(raw)
        families.removeAll(keepingCapacity: true)
        ops.removeAll(keepingCapacity: true)
    }

    /// The batch as a change log payload (commit time still zero).
    func encodeChange() throws(StoreError) -> [UInt8] {
        try ChangeEncoder.encode(families: families.map(\.name), count: ops.count) { ops[$0] }
    }

    /// The index of `cf` in `families`, adding it if new.
    @inline(__always)
    private func remember(_ cf: ColumnFamily) -> Int {
        // Batches usually touch one or two families; the last one is the common case.
        if let last = families.last, last === cf { return families.count - 1 }
        if let index = families.firstIndex(where: { $0 === cf }) { return index }
        families.append(cf)
        return families.count - 1
    }
}
