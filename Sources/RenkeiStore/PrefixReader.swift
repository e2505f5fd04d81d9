import CRocksDB

/// Reads the entries under many prefixes of one column family through a
/// single RocksDB iterator, seeking once per prefix.
///
/// `Database.scan(prefix:in:body:)` builds an iterator (read options, a
/// super-version reference, an arena) for every prefix; for a batch of a
/// thousand residents' vaccinations that setup cost more than the seeks.
/// The iterator has no upper bound, so each key is checked against the
/// prefix by hand. Not `Sendable`, like `KeyValueIterator`.
public final class PrefixReader {
    private let raw: OpaquePointer?
    private let readOptions: OpaquePointer?
    private let family: ColumnFamily
    private var pendingError: StoreError?

    init(family: ColumnFamily, owner: DatabaseHandle) {
        self.family = family
        do {
            let cfHandle = try family.handle(for: owner)
            let options = rocksdb_readoptions_create()!
            self.readOptions = options
            self.raw = rocksdb_create_iterator_cf(owner.raw, options, cfHandle)
        } catch {
            self.raw = nil
            self.readOptions = nil
            self.pendingError = error
        }
    }

    deinit {
        if let raw { rocksdb_iter_destroy(raw) }
        if let readOptions { rocksdb_readoptions_destroy(readOptions) }
    }

    /// Calls `body` with every entry whose key starts with `prefix`, in key
    /// order, until `body` returns `false`. An empty prefix is refused: it
    /// would visit the whole family (use `Database.scan` for that).
    ///
    /// - Throws: `StoreError` `.iterator` on a RocksDB error, `.closed` if the
    ///   family was dropped, `.invalidArgument` for an empty prefix.
    public func forEach(prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        if let pendingError { throw pendingError }
        guard let raw else { return }
        guard !prefix.isEmpty else {
            throw StoreError(.invalidArgument, "PrefixReader needs a non-empty prefix")
        }
        if family.isDropped {
            throw StoreError(.closed, "column family '\(family.name)' has been dropped")
        }
        withCBytes(prefix) { p, len in rocksdb_iter_seek(raw, p, len) }
        while rocksdb_iter_valid(raw) != 0 {
            var keyLength = 0
            let keyPointer = rocksdb_iter_key(raw, &keyLength)
            let key = copyBytes(keyPointer, keyLength)
            guard key.starts(with: prefix) else { return }
            var valueLength = 0
            let value = copyBytes(rocksdb_iter_value(raw, &valueLength), valueLength)
            guard try body(key, value) else { return }
            rocksdb_iter_next(raw)
        }
        try withRocksError(.iterator, "iterating '\(family.name)'") { err in
            rocksdb_iter_get_error(raw, err)
        }
    }
}

extension Database {
    /// A reader for many prefix scans of `cf` through one iterator. It sees
    /// the database as of each seek (no snapshot), like `scan`.
    public func makePrefixReader(in cf: ColumnFamily) -> PrefixReader {
        PrefixReader(family: cf, owner: handle)
    }
}
