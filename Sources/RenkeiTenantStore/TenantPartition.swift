import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import Synchronization

/// What a batch write did, row by row summed up.
public struct WriteOutcome: Sendable, Equatable {
    public var inserted = 0
    public var updated = 0
    public var unchanged = 0
    public init(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
    }
    public var total: Int { inserted + updated + unchanged }
    public static func += (lhs: inout WriteOutcome, rhs: WriteOutcome) {
        lhs.inserted += rhs.inserted
        lhs.updated += rhs.updated
        lhs.unchanged += rhs.unchanged
    }
}

/// A resident with their vaccination file, as a read returns it.
public struct ResidentFile: Sendable, Equatable {
    public let resident: Resident
    /// Sorted by date, then dose number.
    public let vaccinations: [VaccinationRecord]
}

/// One tenant's logically separated, encrypted area of the node.
///
/// Every read and write goes through the partition of the tenant named
/// first, so nothing of one municipality is reachable through another's
/// code: the column families, the data key and the index key are all the
/// tenant's own. Keys stored in RocksDB are blind indexes; values are
/// AES-256-GCM envelopes bound to tenant, column family and key.
///
/// Thread-safe: reads run concurrently; writes to one tenant are serialized
/// by the partition's lock, which also keeps the record counts exact.
public struct TenantPartition: Sendable {
    public let info: TenantInfo
    public var code: MunicipalityCode { info.code }

    let db: Database
    let meta: ColumnFamily
    let residentsCF: ColumnFamily
    let numberIndexCF: ColumnFamily
    let vaccinationsCF: ColumnFamily
    let receivedCF: ColumnFamily
    /// Shared by every copy of the partition, so a data-key rotation reaches
    /// holders of an older copy too (a long import keeps its partition).
    let keys: TenantKeys
    /// Seals with the current data key version, opens any version held.
    var sealer: RecordSealer { keys.sealer }
    let blindIndex: BlindIndex
    let writeLock: WriteLock

    /// Maximum rows in one write call; bigger imports are split by the caller.
    public static let maxBatchRows = 10_000

    final class WriteLock: Sendable {
        let mutex = Mutex<Void>(())
    }

    // MARK: Keys

    /// The resident's record key: blind(宛名番号).
    public func residentKey(_ addressNumber: AddressNumber) -> [UInt8] {
        blindIndex.token(addressNumber.digits, domain: .addressNumber)
    }

    func numberKey(_ number: IndividualNumber) -> [UInt8] {
        blindIndex.token(number.digits, domain: .individualNumber)
    }

    func vaccinationKey(_ record: VaccinationRecord, residentKey: [UInt8]) -> [UInt8] {
        residentKey + blindIndex.token(record.identity, domain: .vaccination).prefix(16)
    }

    func context(_ cf: ColumnFamily, _ key: [UInt8]) -> RecordContext {
        RecordContext(tenantCode: code.rawValue, columnFamily: cf.name, recordKey: key)
    }

    // MARK: Reads

    /// The resident with this Individual Number in this tenant, or nil.
    public func resident(number: IndividualNumber) throws(NodeError) -> Resident? {
        guard let rk = try storage({ try db.get(numberKey(number), in: numberIndexCF) }) else { return nil }
        guard let resident = try residentRecord(key: rk) else {
            throw NodeError(.corrupted, "tenant \(code): the number index points to a missing resident record")
        }
        guard resident.individualNumber == number else {
            throw NodeError(.corrupted, "tenant \(code): the number index points to another resident's record")
        }
        return resident
    }

    /// The resident with this address number in this tenant, or nil.
    public func resident(addressNumber: AddressNumber) throws(NodeError) -> Resident? {
        try residentRecord(key: residentKey(addressNumber))
    }

    /// The resident and all their vaccination records, or nil.
    public func residentFile(number: IndividualNumber) throws(NodeError) -> ResidentFile? {
        guard let resident = try resident(number: number) else { return nil }
        return ResidentFile(resident: resident, vaccinations: try vaccinations(of: resident.addressNumber))
    }

    /// Many residents by address number in one MultiGet; nil where absent.
    public func residents(addressNumbers: [AddressNumber]) throws(NodeError) -> [Resident?] {
        let keys = addressNumbers.map(residentKey)
        let values = try storage { try db.multiGet(keys, in: residentsCF) }
        var result: [Resident?] = []
        result.reserveCapacity(values.count)
        for (key, value) in zip(keys, values) {
            result.append(try value.map { (v) throws(NodeError) in try openResident(v, key: key) })
        }
        return result
    }

    /// Many residents by Individual Number in one MultiGet per column family;
    /// nil where this tenant has no such person.
    public func residents(numbers: [IndividualNumber]) throws(NodeError) -> [Resident?] {
        let owners = try storage { try db.multiGet(numbers.map(numberKey), in: numberIndexCF) }
        let present = owners.compactMap { $0 }
        let values = try storage { try db.multiGet(present, in: residentsCF) }
        var result: [Resident?] = []
        result.reserveCapacity(numbers.count)
        var next = 0
        for (number, owner) in zip(numbers, owners) {
            guard let owner else { result.append(nil); continue }
            guard let value = values[next] else {
                throw NodeError(.corrupted, "tenant \(code): the number index points to a missing resident record")
            }
            next += 1
            let resident = try openResident(value, key: owner)
            guard resident.individualNumber == number else {
                throw NodeError(.corrupted, "tenant \(code): the number index points to another resident's record")
            }
            result.append(resident)
        }
        return result
    }

    /// Many resident files by Individual Number: one MultiGet in the number
    /// index and one in the residents for the whole list, then the
    /// vaccinations of each resident `include` accepts (a prefix read each:
    /// their keys are not known in advance). Nil where this tenant has no
    /// such person or `include` declined the resident.
    ///
    /// `include` gets the position in `numbers` and the resident; it lets a
    /// caller skip the vaccination reads of residents it will not answer
    /// with (bulk hints that disagree).
    public func residentFiles(numbers: [IndividualNumber],
                              include: (Int, Resident) -> Bool = { _, _ in true }) throws(NodeError) -> [ResidentFile?] {
        let residents = try residents(numbers: numbers)
        var files: [ResidentFile?] = []
        files.reserveCapacity(residents.count)
        // One iterator for the whole batch: building one per resident cost
        // more than the seeks (perf, issue 4).
        let reader = db.makePrefixReader(in: vaccinationsCF)
        for (position, resident) in residents.enumerated() {
            guard let resident, include(position, resident) else { files.append(nil); continue }
            files.append(ResidentFile(resident: resident, vaccinations: try vaccinations(of: resident.addressNumber, using: reader)))
        }
        return files
    }

    /// `vaccinations(of:)` through a reader shared by a batch.
    func vaccinations(of addressNumber: AddressNumber, using reader: PrefixReader) throws(NodeError) -> [VaccinationRecord] {
        var records: [VaccinationRecord] = []
        var failure: NodeError?
        try storage {
            try reader.forEach(prefix: residentKey(addressNumber)) { key, value in
                do throws(NodeError) {
                    records.append(try openVaccination(value, key: key))
                    return true
                } catch {
                    failure = error
                    return false
                }
            }
        }
        if let failure { throw failure }
        return records.sorted { ($0.vaccinationDate, $0.doseNumber) < ($1.vaccinationDate, $1.doseNumber) }
    }

    /// For each number, the record key of the resident that holds it here, or nil.
    public func numberOwners(_ numbers: [IndividualNumber]) throws(NodeError) -> [[UInt8]?] {
        try storage { try db.multiGet(numbers.map(numberKey), in: numberIndexCF) }
    }

    /// The resident's vaccination records, sorted by date and dose number.
    public func vaccinations(of addressNumber: AddressNumber) throws(NodeError) -> [VaccinationRecord] {
        try vaccinations(of: addressNumber, using: db.makePrefixReader(in: vaccinationsCF))
    }

    /// Visits every vaccination record of the tenant in storage order (grouped
    /// by resident); `body` returns false to stop.
    public func forEachVaccination(_ body: (VaccinationRecord) throws -> Bool) throws {
        var failure: (any Error)?
        try storage {
            try db.scan(prefix: [], in: vaccinationsCF) { key, value in
                do {
                    return try body(try openVaccination(value, key: key))
                } catch {
                    failure = error
                    return false
                }
            }
        }
        if let failure { throw failure }
    }

    /// Visits every resident of the tenant in storage order; `body` returns false to stop.
    public func forEachResident(_ body: (Resident) throws -> Bool) throws {
        var failure: (any Error)?
        try storage {
            try db.scan(prefix: [], in: residentsCF) { key, value in
                do {
                    return try body(try openResident(value, key: key))
                } catch {
                    failure = error
                    return false
                }
            }
        }
        if let failure { throw failure }
    }

    /// Exact record counts, maintained with every write.
    public func counts() throws(NodeError) -> TenantCounts {
        try TenantCounter.read(db: db, meta: meta, code: code)
    }

    // MARK: Writes

    /// Inserts or updates residents; a resident equal to the stored one is
    /// left untouched, so re-importing changes nothing.
    ///
    /// Every row is checked before anything is written, so a conflict writes
    /// nothing. The batch is one atomic write when it logs at most
    /// `writePartBytesMax` bytes (a batch of the import's default size
    /// always does); a larger one is written as consecutive atomic parts,
    /// each one change-log entry the vault accepts. A crash between parts
    /// leaves the earlier parts written, and writing the same batch again
    /// completes it.
    ///
    /// - Throws: `.conflict` if an Individual Number already belongs to
    ///   another resident of this tenant, or appears twice in `residents`;
    ///   nothing is written then.
    public func upsertResidents(_ residents: [Resident], sync: Bool = true) throws(NodeError) -> WriteOutcome {
        guard residents.count <= Self.maxBatchRows else {
            throw NodeError(.invalidArgument, "a write batch holds at most \(Self.maxBatchRows) rows, got \(residents.count)")
        }
        return try writeLock.mutex.withLock { _ throws(NodeError) -> WriteOutcome in
            let rks = residents.map { residentKey($0.addressNumber) }
            let nks = residents.map { numberKey($0.individualNumber) }
            var seenNumbers = Set<Token>()
            var seenResidents = Set<Token>()
            for (i, (rk, nk)) in zip(rks, nks).enumerated() {
                guard seenResidents.insert(Token(rk)).inserted else {
                    throw NodeError(.conflict, "row \(i + 1) of the batch repeats a 宛名番号 of an earlier row")
                }
                guard seenNumbers.insert(Token(nk)).inserted else {
                    throw NodeError(.conflict, "row \(i + 1) of the batch repeats a 個人番号 of an earlier row")
                }
            }
            let existing = try storage { try db.multiGet(rks, in: residentsCF) }
            let owners = try storage { try db.multiGet(nks, in: numberIndexCF) }
            // First every row's decision, so a conflict in the last row
            // writes nothing even when the batch goes out in parts.
            enum Action { case skip, insert, update(oldNumberKey: [UInt8]?) }
            var actions: [Action] = []
            actions.reserveCapacity(residents.count)
            var outcome = WriteOutcome()
            for i in residents.indices {
                let resident = residents[i]
                if let owner = owners[i], owner != rks[i] {
                    throw NodeError(.conflict, "row \(i + 1) of the batch: its 個人番号 already belongs to another resident of tenant \(code)")
                }
                if let stored = existing[i] {
                    let old = try openResident(stored, key: rks[i])
                    if old == resident {
                        outcome.unchanged += 1
                        actions.append(.skip)
                        continue
                    }
                    outcome.updated += 1
                    actions.append(.update(oldNumberKey: old.individualNumber != resident.individualNumber ? numberKey(old.individualNumber) : nil))
                } else {
                    outcome.inserted += 1
                    actions.append(.insert)
                }
            }
            var parts = PartedWrite(db: db, sync: sync, counts: try counts(), code: code, meta: meta)
            for i in residents.indices {
                let inserted: Bool
                switch actions[i] {
                case .skip: continue
                case .insert: inserted = true
                case .update(let oldNumberKey):
                    inserted = false
                    if let oldNumberKey { parts.delete(oldNumberKey, in: numberIndexCF) }
                }
                let sealed = try crypto { try sealer.seal(residents[i].encoded(), context: context(residentsCF, rks[i])) }
                parts.put(rks[i], sealed, in: residentsCF)
                parts.put(nks[i], rks[i], in: numberIndexCF)
                try parts.endRow(insertedResidents: inserted ? 1 : 0)
            }
            try parts.finish()
            return outcome
        }
    }

    /// Inserts or updates vaccination records. A record is identified by
    /// 宛名番号, 接種・予診日 and 接種回数; one equal to the stored one is left
    /// untouched. Atomic, or in atomic parts, as `upsertResidents`.
    ///
    /// - Throws: `.conflict` if a record's resident is not in this tenant or a
    ///   record repeats an earlier one of the batch; nothing is written then.
    public func upsertVaccinations(_ records: [VaccinationRecord], sync: Bool = true) throws(NodeError) -> WriteOutcome {
        guard records.count <= Self.maxBatchRows else {
            throw NodeError(.invalidArgument, "a write batch holds at most \(Self.maxBatchRows) rows, got \(records.count)")
        }
        return try writeLock.mutex.withLock { _ throws(NodeError) -> WriteOutcome in
            let rks = records.map { residentKey($0.addressNumber) }
            let residentsPresent = try storage { try db.multiGet(rks, in: residentsCF) }
            var keys: [[UInt8]] = []
            keys.reserveCapacity(records.count)
            var seen = Set<Token>()
            for i in records.indices {
                guard residentsPresent[i] != nil else {
                    throw NodeError(.conflict, "row \(i + 1) of the batch: no resident with its 宛名番号 in tenant \(code)")
                }
                let key = vaccinationKey(records[i], residentKey: rks[i])
                guard seen.insert(Token(key)).inserted else {
                    throw NodeError(.conflict, "row \(i + 1) of the batch repeats the 宛名番号, 接種・予診日 and 接種回数 of an earlier row")
                }
                keys.append(key)
            }
            let existing = try storage { try db.multiGet(keys, in: vaccinationsCF) }
            var outcome = WriteOutcome()
            var parts = PartedWrite(db: db, sync: sync, counts: try counts(), code: code, meta: meta)
            for i in records.indices {
                if let stored = existing[i] {
                    if try openVaccination(stored, key: keys[i]) == records[i] {
                        outcome.unchanged += 1
                        continue
                    }
                    outcome.updated += 1
                } else {
                    outcome.inserted += 1
                }
                let sealed = try crypto { try sealer.seal(records[i].encoded(), context: context(vaccinationsCF, keys[i])) }
                parts.put(keys[i], sealed, in: vaccinationsCF)
                try parts.endRow(insertedVaccinations: existing[i] == nil ? 1 : 0)
            }
            try parts.finish()
            return outcome
        }
    }

    // MARK: Decoding with checks

    func residentRecord(key: [UInt8]) throws(NodeError) -> Resident? {
        guard let value = try storage({ try db.get(key, in: residentsCF) }) else { return nil }
        return try openResident(value, key: key)
    }

    func openResident(_ envelope: [UInt8], key: [UInt8]) throws(NodeError) -> Resident {
        let plain = try crypto { try sealer.open(envelope, context: context(residentsCF, key)) }
        let resident: Resident
        do {
            resident = try Resident(decoding: plain)
        } catch {
            throw NodeError(.corrupted, "tenant \(code): a stored resident record cannot be decoded", cause: error)
        }
        // The record key is derived from the content: a mismatch means the
        // record was moved or damaged.
        guard residentKey(resident.addressNumber) == key else {
            throw NodeError(.corrupted, "tenant \(code): a resident record is stored under another record's key")
        }
        return resident
    }

    func openVaccination(_ envelope: [UInt8], key: [UInt8]) throws(NodeError) -> VaccinationRecord {
        let plain = try crypto { try sealer.open(envelope, context: context(vaccinationsCF, key)) }
        do {
            return try VaccinationRecord(decoding: plain)
        } catch {
            throw NodeError(.corrupted, "tenant \(code): a stored vaccination record cannot be decoded", cause: error)
        }
    }

    func crypto<T>(_ body: () throws -> T) throws(NodeError) -> T {
        do {
            return try body()
        } catch let error as CryptoError {
            throw NodeError(.corrupted, "tenant \(code): a stored value failed authentication or decryption", cause: error)
        } catch {
            throw NodeError(.corrupted, "tenant \(code): \(error)")
        }
    }
}

/// Wraps storage failures in `NodeError`.
func storage<T>(_ body: () throws -> T) throws(NodeError) -> T {
    do {
        return try body()
    } catch let error as StoreError {
        throw NodeError(.storage, "storage failure: \(error.message)", cause: error)
    } catch {
        throw NodeError(.storage, "storage failure: \(error)")
    }
}

/// The exact per-tenant record counts, kept in the metadata column family.
enum TenantCounter {
    static func key(_ code: MunicipalityCode) -> [UInt8] { Array("count/\(code.rawValue)".utf8) }

    static func read(db: Database, meta: ColumnFamily, code: MunicipalityCode) throws(NodeError) -> TenantCounts {
        guard let bytes = try storage({ try db.get(key(code), in: meta) }) else { return TenantCounts() }
        var reader = ByteReader(bytes)
        do {
            var counts = TenantCounts(residents: try reader.int(), vaccinations: try reader.int())
            // Entries written before received files existed end here.
            if !reader.isAtEnd { counts.receivedFiles = try reader.int() }
            return counts
        } catch {
            throw NodeError(.corrupted, "tenant \(code): record counts cannot be decoded", cause: error)
        }
    }

    static func put(_ counts: TenantCounts, code: MunicipalityCode, meta: ColumnFamily, into batch: WriteBatch) {
        var writer = ByteWriter(capacity: 24)
        writer.int(counts.residents)
        writer.int(counts.vaccinations)
        writer.int(counts.receivedFiles)
        batch.put(key(code), writer.bytes, in: meta)
    }
}

/// A record key as a hashable value: hashing `[UInt8]` feeds the hasher byte
/// by byte, which showed up in import profiles.
struct Token: Hashable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
