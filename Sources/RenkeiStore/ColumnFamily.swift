import CRocksDB
import Synchronization

/// A column family of an open `Database`.
///
/// Holding a `ColumnFamily` keeps its database open: the underlying handle is
/// destroyed in `deinit`, before the database itself is closed. After
/// `Database.dropColumnFamily(_:)` every operation using it throws
/// `StoreError` with code `.closed`.
///
/// `@unchecked Sendable`: RocksDB column family handles are thread-safe for
/// concurrent reads and writes, the pointer never changes, and the only
/// mutable Swift state (the dropped flag) is an `Atomic`.
public final class ColumnFamily: @unchecked Sendable {
    /// The column family's name, as stored in the database.
    public let name: String

    let raw: OpaquePointer
    let db: DatabaseHandle
    // The handle stays alive after a drop (RocksDB allows that) and is only
    // destroyed in deinit, so a read racing with a drop never touches freed memory.
    private let dropped = Atomic<Bool>(false)

    init(name: String, raw: OpaquePointer, db: DatabaseHandle) {
        self.name = name
        self.raw = raw
        self.db = db
    }

    var isDropped: Bool { dropped.load(ordering: .acquiring) }

    func markDropped() { dropped.store(true, ordering: .releasing) }

    /// Returns the C handle after checking it may be used with `owner`.
    @inline(__always)
    func handle(for owner: DatabaseHandle) throws(StoreError) -> OpaquePointer {
        guard db === owner else {
            throw StoreError(.invalidArgument, "column family '\(name)' belongs to another database (\(db.path))")
        }
        guard !isDropped else {
            throw StoreError(.closed, "column family '\(name)' has been dropped")
        }
        return raw
    }

    deinit {
        rocksdb_column_family_handle_destroy(raw)
    }
}
