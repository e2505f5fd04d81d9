import RenkeiCore
import RenkeiStore

extension TenantPartition {
    /// Most bytes the operations of one write part may log: one change-log
    /// entry must fit `ChangeEntry.maxPayloadBytes` (one request to the
    /// vault), and 64 KiB stay free for the counter and the entry's header.
    public static var writePartBytesMax: Int { ChangeEntry.maxPayloadBytes - (64 << 10) }
}

/// A batch of rows written as one atomic RocksDB write, or, when it would
/// log more than `TenantPartition.writePartBytesMax`, as consecutive atomic
/// parts split between rows. Each part carries the tenant's counter as it
/// stands after that part, so the counts are exact after every part.
///
/// Only the last part waits for the WAL sync: the log is sequential, so that
/// sync covers the parts before it.
struct PartedWrite {
    let db: Database
    let sync: Bool
    let code: MunicipalityCode
    let meta: ColumnFamily
    /// The tenant's counts including every ended row.
    private(set) var counts: TenantCounts
    private var batch = WriteBatch()
    private var rowBytes = 0
    private var partBytes = 0
    private var pendingRowOps: [(key: [UInt8], value: [UInt8]?, cf: ColumnFamily)] = []

    init(db: Database, sync: Bool, counts: TenantCounts, code: MunicipalityCode, meta: ColumnFamily) {
        self.db = db
        self.sync = sync
        self.counts = counts
        self.code = code
        self.meta = meta
    }

    /// Bytes an operation adds to a change entry (as `ChangeEntry` counts them).
    private static func loggedBytes(key: Int, value: Int?) -> Int {
        3 + (value.map { 8 + key + $0 } ?? 4 + key)
    }

    mutating func put(_ key: [UInt8], _ value: [UInt8], in cf: ColumnFamily) {
        pendingRowOps.append((key, value, cf))
        rowBytes += Self.loggedBytes(key: key.count, value: value.count)
    }

    mutating func delete(_ key: [UInt8], in cf: ColumnFamily) {
        pendingRowOps.append((key, nil, cf))
        rowBytes += Self.loggedBytes(key: key.count, value: nil)
    }

    /// Ends a row: its operations go into the current part, or, if they
    /// would overflow it, the current part is written and they start the next.
    /// - Parameters:
    ///   - insertedResidents, insertedVaccinations: what the row adds to the counts.
    mutating func endRow(insertedResidents: Int = 0, insertedVaccinations: Int = 0) throws(NodeError) {
        if partBytes > 0, partBytes + rowBytes > TenantPartition.writePartBytesMax {
            try writePart(sync: false)
        }
        counts.residents += insertedResidents
        counts.vaccinations += insertedVaccinations
        for op in pendingRowOps {
            if let value = op.value { batch.put(op.key, value, in: op.cf) } else { batch.delete(op.key, in: op.cf) }
        }
        partBytes += rowBytes
        pendingRowOps.removeAll(keepingCapacity: true)
        rowBytes = 0
    }

    /// Writes the last part, if it holds anything.
    mutating func finish() throws(NodeError) {
        precondition(pendingRowOps.isEmpty, "a row was not ended")
        if partBytes > 0 { try writePart(sync: sync) }
    }

    private mutating func writePart(sync: Bool) throws(NodeError) {
        // The counter covers the rows of this part and of every part before it.
        TenantCounter.put(counts, code: code, meta: meta, into: batch)
        let part = batch
        try storage { try db.write(part, sync: sync) }
        batch = WriteBatch()
        partBytes = 0
    }
}
