import CRocksDB

/// Owns the `rocksdb_t*` and closes it when the last reference goes away.
///
/// Every `ColumnFamily` and `KeyValueIterator` holds this object strongly, so
/// the database is closed only after all column family handles and iterators
/// built on it have been destroyed — RocksDB requires that order.
///
/// `@unchecked Sendable`: the pointer is immutable after init and RocksDB's
/// `DB` is documented thread-safe for concurrent reads and writes; the option
/// objects are read-only (see `NativeOptions`).
final class DatabaseHandle: @unchecked Sendable {
    let raw: OpaquePointer
    let native: NativeOptions
    let path: String

    init(raw: OpaquePointer, native: NativeOptions, path: String) {
        self.raw = raw
        self.native = native
        self.path = path
    }

    deinit {
        rocksdb_close(raw)
        // `native` is released after this body, i.e. after the DB is closed.
    }
}
