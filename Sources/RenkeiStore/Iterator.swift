import CRocksDB

/// Iterates, in key order, over the entries of one column family whose keys
/// start with a prefix. Obtain one from `Database.makeIterator(in:prefix:)`.
///
/// Holding the iterator keeps its database open; the C iterator is destroyed
/// in `deinit`. Not `Sendable`: a RocksDB iterator must not be used from two
/// threads at once.
public final class KeyValueIterator {
    private let raw: OpaquePointer?
    // Each iterator needs its own read options: the upper bound lives in them
    // and RocksDB keeps pointing at it for the iterator's whole life.
    private let readOptions: OpaquePointer?
    private let family: ColumnFamily
    private let prefix: [UInt8]
    // Where the first seek lands: the prefix, or a later key to resume from.
    private let start: [UInt8]
    // The C API keeps a Slice pointing at the bound, not a copy: the bytes
    // must live as long as the read options. Freed in deinit.
    private let upperBound: UnsafeMutableRawBufferPointer?
    // Keys are also checked by hand: cheap, and an all-0xFF prefix has no bound.
    private let checkPrefix: Bool
    private var started = false
    private var finished = false
    private var pendingError: StoreError?

    init(family: ColumnFamily, owner: DatabaseHandle, prefix: [UInt8], start: [UInt8]? = nil) {
        self.family = family
        self.prefix = prefix
        self.start = start.map { $0.lexicographicallyPrecedes(prefix) ? prefix : $0 } ?? prefix
        let cfHandle: OpaquePointer
        do {
            cfHandle = try family.handle(for: owner)
        } catch {
            // makeIterator cannot throw; report the problem on the first next().
            self.raw = nil
            self.readOptions = nil
            self.upperBound = nil
            self.checkPrefix = false
            self.pendingError = error
            return
        }
        let options = rocksdb_readoptions_create()!
        if let bound = prefixSuccessor(prefix) {
            let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bound.count, alignment: 1)
            storage.copyBytes(from: bound)
            rocksdb_readoptions_set_iterate_upper_bound(
                options, storage.baseAddress!.assumingMemoryBound(to: CChar.self), bound.count)
            self.upperBound = storage
        } else {
            self.upperBound = nil
        }
        self.checkPrefix = !prefix.isEmpty
        self.readOptions = options
        self.raw = rocksdb_create_iterator_cf(owner.raw, options, cfHandle)
    }

    deinit {
        if let raw { rocksdb_iter_destroy(raw) }
        if let readOptions { rocksdb_readoptions_destroy(readOptions) }
        upperBound?.deallocate()
        // `family` (and through it the database) is released after this.
    }

    /// Returns the next entry, or `nil` when no more keys carry the prefix.
    ///
    /// - Throws: `StoreError` `.iterator` if RocksDB reports an error while
    ///   iterating, `.closed` if the column family was dropped.
    public func next() throws -> (key: [UInt8], value: [UInt8])? {
        if let pendingError { throw pendingError }
        guard let raw, !finished else { return nil }
        if family.isDropped {
            throw StoreError(.closed, "column family '\(family.name)' has been dropped")
        }
        if started {
            rocksdb_iter_next(raw)
        } else {
            started = true
            withCBytes(start) { p, len in rocksdb_iter_seek(raw, p, len) }
        }
        guard rocksdb_iter_valid(raw) != 0 else {
            finished = true
            try withRocksError(.iterator, "iterating '\(family.name)'") { err in
                rocksdb_iter_get_error(raw, err)
            }
            return nil
        }
        var keyLength = 0
        let keyPointer = rocksdb_iter_key(raw, &keyLength)
        let key = copyBytes(keyPointer, keyLength)
        if checkPrefix && !key.starts(with: prefix) {
            finished = true
            return nil
        }
        var valueLength = 0
        let valuePointer = rocksdb_iter_value(raw, &valueLength)
        return (key, copyBytes(valuePointer, valueLength))
    }
}

/// The smallest key greater than every key starting with `prefix`, or `nil`
/// when there is none (empty or all-0xFF prefix).
func prefixSuccessor(_ prefix: [UInt8]) -> [UInt8]? {
    var bound = prefix
    while let last = bound.last {
        if last < 0xFF {
            bound[bound.count - 1] = last + 1
            return bound
        }
        bound.removeLast()
    }
    return nil
}
