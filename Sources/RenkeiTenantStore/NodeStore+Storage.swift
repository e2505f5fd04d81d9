import RenkeiCore

extension NodeStore {
    /// The bytes tenant `code` takes in the database: its column families'
    /// SST files plus their memtables, from RocksDB's own properties (no
    /// scan). The shared change log and metadata are not counted: they belong
    /// to the node, not to one tenant. 0 for a tenant this node does not hold.
    public func storageBytes(of code: MunicipalityCode) -> UInt64 {
        TenantColumnFamily.allCases.reduce(UInt64(0)) { sum, kind in
            guard let family = db.columnFamily(named: kind.name(for: code)) else { return sum }
            func value(_ property: String) -> UInt64 {
                db.property(property, in: family).flatMap { UInt64($0) } ?? 0
            }
            return sum + value("rocksdb.total-sst-files-size") + value("rocksdb.size-all-mem-tables")
        }
    }
}
