import RenkeiCore
import RenkeiStore

/// What deleting one person removed from a tenant.
public struct ResidentDeletion: Sendable, Equatable {
    /// A resident record (and its number index entry) was removed.
    public let residentDeleted: Bool
    public let vaccinationsDeleted: Int
    public let receivedFilesDeleted: Int

    /// Nothing was held for the number.
    public var isEmpty: Bool { !residentDeleted && vaccinationsDeleted == 0 && receivedFilesDeleted == 0 }
}

extension TenantPartition {
    /// Most records one deletion removes in its single write.
    public static let maxDeletedRecordsPerPerson = 10_000

    /// Deletes everything this tenant holds for one person: the resident
    /// record, its number-index entry, every vaccination record and every
    /// file received for them, with the record counts, in one atomic synced
    /// write (the change log ships it to the vault like any other write).
    ///
    /// The deleted values stay in RocksDB files until compaction rewrites
    /// them, and in older vault snapshots until retention drops them; both
    /// are ciphertext under the tenant's keys, so only deleting the tenant
    /// (crypto-shredding) makes them unreadable at once.
    ///
    /// - Throws: `.invalidArgument` if the person has more records than
    ///   `maxDeletedRecordsPerPerson` (nothing is deleted), `.storage` on I/O.
    public func deleteResident(number: IndividualNumber) throws(NodeError) -> ResidentDeletion {
        try writeLock.mutex.withLock { _ throws(NodeError) -> ResidentDeletion in
            let nk = numberKey(number)
            let rk = try storage { try db.get(nk, in: numberIndexCF) }
            var vaccinationKeys: [[UInt8]] = []
            var receivedKeys: [[UInt8]] = []
            let limit = Self.maxDeletedRecordsPerPerson
            if let rk {
                try storage {
                    try db.scan(prefix: rk, in: vaccinationsCF) { key, _ in
                        vaccinationKeys.append(key)
                        return vaccinationKeys.count <= limit
                    }
                }
            }
            try storage {
                try db.scan(prefix: nk, in: receivedCF) { key, _ in
                    receivedKeys.append(key)
                    return receivedKeys.count <= limit
                }
            }
            guard vaccinationKeys.count + receivedKeys.count <= limit else {
                throw NodeError(.invalidArgument, "tenant \(code): this person has more than \(limit) records; nothing was deleted")
            }
            let deletion = ResidentDeletion(residentDeleted: rk != nil, vaccinationsDeleted: vaccinationKeys.count,
                                            receivedFilesDeleted: receivedKeys.count)
            guard !deletion.isEmpty else { return deletion }
            let batch = WriteBatch()
            var counts = try counts()
            if let rk {
                batch.delete(rk, in: residentsCF)
                batch.delete(nk, in: numberIndexCF)
                counts.residents -= 1
            }
            for key in vaccinationKeys { batch.delete(key, in: vaccinationsCF) }
            for key in receivedKeys { batch.delete(key, in: receivedCF) }
            counts.vaccinations -= vaccinationKeys.count
            counts.receivedFiles -= receivedKeys.count
            TenantCounter.put(counts, code: code, meta: meta, into: batch)
            try storage { try db.write(batch, sync: true) }
            return deletion
        }
    }
}
