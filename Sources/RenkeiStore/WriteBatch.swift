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

    /// Creates an empty batch.
    public init() {
        raw = rocksdb_writebatch_create()!
    }

    deinit {
        rocksdb_writebatch_destroy(raw)
    }

    /// Adds a put of `value` under `key` in `cf`.
    public func put(_ key: [UInt8], _ value: [UInt8], in cf: ColumnFamily) {
        remember(cf)
        withCBytes(key) { k, kLen in
            withCBytes(value) { v, vLen in
                rocksdb_writebatch_put_cf(raw, cf.raw, k, kLen, v, vLen)
            }
        }
    }

    /// Adds a delete of `key` in `cf`.
    public func delete(_ key: [UInt8], in cf: ColumnFamily) {
        remember(cf)
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
    }

    @inline(__always)
    private func remember(_ cf: ColumnFamily) {
        // Batches usually touch one or two families; the last one is the common case.
        if let last = families.last, last === cf { return }
        if !families.contains(where: { $0 === cf }) {
            families.append(cf)
        }
    }
}
