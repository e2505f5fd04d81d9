import RenkeiCore
import RenkeiCrypto
import RenkeiStore

/// What `storeReceivedFile` did.
public struct ReceivedStoreOutcome: Sendable, Equatable {
    public enum Storage: String, Sendable {
        /// First file from this source for this person.
        case stored
        /// A different file from the same source replaced the earlier one.
        case replaced
        /// The same file was already stored; nothing was written for it.
        case unchanged
    }

    public let storage: Storage
    /// Whether a resident with the file's Individual Number is registered in this tenant.
    public let residentRegistered: Bool
    /// Whether this call set (or changed) that resident's moved-in flag (転入).
    public let movedInSet: Bool

    public init(storage: Storage, residentRegistered: Bool, movedInSet: Bool) {
        self.storage = storage
        self.residentRegistered = residentRegistered
        self.movedInSet = movedInSet
    }
}

/// What `markMovedOut` did.
public enum MoveMarkOutcome: Sendable, Equatable {
    /// No resident with that Individual Number in this tenant; nothing written.
    case notFound
    /// The moved-out flag (転出) was set; `previous` is what it replaced, if anything.
    case marked(previous: MoveEvent?)
    /// It was already set to the same destination and date; nothing written.
    case alreadyMarked
}

extension TenantPartition {
    // MARK: Keys

    /// blind(個人番号) ‖ source code: one file per person and source, and all
    /// of a person's files under one prefix.
    func receivedKey(_ number: IndividualNumber, source: MunicipalityCode) -> [UInt8] {
        numberKey(number) + Array(source.rawValue.utf8)
    }

    /// The person's blind index in this tenant (the key of the number-index
    /// column family), as 64 lowercase hex characters: what an audit entry
    /// records instead of the number. Linkable within the tenant, useless
    /// without its index key.
    public func numberIndexHex(_ number: IndividualNumber) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in numberKey(number) {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Received files (転入)

    /// Stores a file received from another municipality, sealed like every
    /// record. A second file from the same source for the same person
    /// replaces the first (storing the same one again changes nothing);
    /// files from different sources are all kept.
    ///
    /// If the person is registered in this tenant, their moved-in flag is set
    /// to (received date, source) in the same atomic write, unless it already
    /// says exactly that.
    ///
    /// - Throws: `.conflict` if the resident's record cannot take that
    ///   move-in (e.g. their recorded move-out is earlier); nothing is written then.
    public func storeReceivedFile(_ file: ReceivedFile) throws(NodeError) -> ReceivedStoreOutcome {
        try writeLock.mutex.withLock { _ throws(NodeError) -> ReceivedStoreOutcome in
            let key = receivedKey(file.individualNumber, source: file.source)
            let batch = WriteBatch()
            let fileOutcome: ReceivedStoreOutcome.Storage
            if let stored = try storage({ try db.get(key, in: receivedCF) }) {
                fileOutcome = try openReceived(stored, key: key) == file ? .unchanged : .replaced
            } else {
                fileOutcome = .stored
            }
            if fileOutcome != .unchanged {
                let sealed = try crypto { try sealer.seal(file.encoded(), context: context(receivedCF, key)) }
                batch.put(key, sealed, in: receivedCF)
            }
            var registered = false
            var movedInSet = false
            if let found = try registeredResident(file.individualNumber) {
                let (owner, resident) = (found.key, found.resident)
                registered = true
                let event = MoveEvent(date: file.receivedOn, otherMunicipality: file.source)
                if resident.movedIn != event {
                    let updated: Resident
                    do throws(ValidationError) {
                        updated = try resident.replacing(movedIn: event, movedOut: resident.movedOut)
                    } catch {
                        throw NodeError(.conflict, "tenant \(code): the received file's 受領日 cannot be the resident's 転入日: \(error)", cause: error)
                    }
                    let sealed = try crypto { try sealer.seal(updated.encoded(), context: context(residentsCF, owner)) }
                    batch.put(owner, sealed, in: residentsCF)
                    movedInSet = true
                }
            }
            if batch.count > 0 {
                if fileOutcome == .stored {
                    var counts = try counts()
                    counts.receivedFiles += 1
                    TenantCounter.put(counts, code: code, meta: meta, into: batch)
                }
                try storage { try db.write(batch, sync: true) }
            }
            return ReceivedStoreOutcome(storage: fileOutcome, residentRegistered: registered, movedInSet: movedInSet)
        }
    }

    /// Stores many received files (a bulk batch's matches) with the
    /// semantics of `storeReceivedFile`, in ONE synced write: a bulk run
    /// pays one fsync per provider batch, not one per person.
    ///
    /// Files are applied in order; a later file for the same person and
    /// source sees the earlier one (so the same file twice is `.unchanged`
    /// the second time). A file whose move-in the resident's record cannot
    /// take gets `.failure(.conflict)` and nothing of it is written; the
    /// others are stored. A storage failure throws and writes nothing.
    ///
    /// - Returns: one result per file, in the order given.
    public func storeReceivedFiles(_ files: [ReceivedFile]) throws(NodeError) -> [Result<ReceivedStoreOutcome, NodeError>] {
        guard !files.isEmpty else { return [] }
        return try writeLock.mutex.withLock { _ throws(NodeError) -> [Result<ReceivedStoreOutcome, NodeError>] in
            let batch = WriteBatch()
            // What this batch already wrote, so later files see it (the
            // database does not until the batch is written).
            var stagedFiles: [[UInt8]: ReceivedFile] = [:]
            var stagedResidents: [[UInt8]: Resident] = [:]
            var newFiles = 0
            var results: [Result<ReceivedStoreOutcome, NodeError>] = []
            results.reserveCapacity(files.count)
            for file in files {
                let key = receivedKey(file.individualNumber, source: file.source)
                let existing: ReceivedFile?
                if let staged = stagedFiles[key] {
                    existing = staged
                } else if let stored = try storage({ try db.get(key, in: receivedCF) }) {
                    existing = try openReceived(stored, key: key)
                } else {
                    existing = nil
                }
                let fileOutcome: ReceivedStoreOutcome.Storage = existing == nil ? .stored : existing == file ? .unchanged : .replaced
                var registered = false
                var residentUpdate: (key: [UInt8], resident: Resident)?
                if let found = try registeredResident(file.individualNumber) {
                    registered = true
                    let resident = stagedResidents[found.key] ?? found.resident
                    let event = MoveEvent(date: file.receivedOn, otherMunicipality: file.source)
                    if resident.movedIn != event {
                        do throws(ValidationError) {
                            residentUpdate = (found.key, try resident.replacing(movedIn: event, movedOut: resident.movedOut))
                        } catch {
                            results.append(.failure(NodeError(.conflict, "tenant \(code): the received file's 受領日 cannot be the resident's 転入日: \(error)", cause: error)))
                            continue
                        }
                    }
                }
                if fileOutcome != .unchanged {
                    let sealed = try crypto { try sealer.seal(file.encoded(), context: context(receivedCF, key)) }
                    batch.put(key, sealed, in: receivedCF)
                    stagedFiles[key] = file
                    if fileOutcome == .stored { newFiles += 1 }
                }
                if let update = residentUpdate {
                    let sealed = try crypto { try sealer.seal(update.resident.encoded(), context: context(residentsCF, update.key)) }
                    batch.put(update.key, sealed, in: residentsCF)
                    stagedResidents[update.key] = update.resident
                }
                results.append(.success(ReceivedStoreOutcome(storage: fileOutcome, residentRegistered: registered,
                                                             movedInSet: residentUpdate != nil)))
            }
            if batch.count > 0 {
                if newFiles > 0 {
                    var counts = try counts()
                    counts.receivedFiles += newFiles
                    TenantCounter.put(counts, code: code, meta: meta, into: batch)
                }
                try storage { try db.write(batch, sync: true) }
            }
            return results
        }
    }

    /// Every file received for this person, from any source, oldest receipt first.
    public func receivedFiles(number: IndividualNumber) throws(NodeError) -> [ReceivedFile] {
        var files: [ReceivedFile] = []
        var failure: NodeError?
        try storage {
            try db.scan(prefix: numberKey(number), in: receivedCF) { key, value in
                do throws(NodeError) {
                    files.append(try openReceived(value, key: key))
                    return true
                } catch {
                    failure = error
                    return false
                }
            }
        }
        if let failure { throw failure }
        return files.sorted { ($0.receivedOn, $0.source) < ($1.receivedOn, $1.source) }
    }

    // MARK: Moving out (転出)

    /// Marks the resident with this number as moved out to `destination` on
    /// `date`. The resident and their vaccination records stay: as the
    /// provider, this municipality still answers inquiries about them.
    ///
    /// - Throws: `.invalidArgument` if the date is before their date of birth
    ///   or their move-in; nothing is written then.
    public func markMovedOut(number: IndividualNumber, to destination: MunicipalityCode, on date: LocalDate) throws(NodeError) -> MoveMarkOutcome {
        try writeLock.mutex.withLock { _ throws(NodeError) -> MoveMarkOutcome in
            guard let found = try registeredResident(number) else { return .notFound }
            let (owner, resident) = (found.key, found.resident)
            let event = MoveEvent(date: date, otherMunicipality: destination)
            if resident.movedOut == event { return .alreadyMarked }
            let updated: Resident
            do throws(ValidationError) {
                updated = try resident.replacing(movedIn: resident.movedIn, movedOut: event)
            } catch {
                throw NodeError(.invalidArgument, "tenant \(code): cannot mark the resident as moved out: \(error)", cause: error)
            }
            let sealed = try crypto { try sealer.seal(updated.encoded(), context: context(residentsCF, owner)) }
            let batch = WriteBatch()
            batch.put(owner, sealed, in: residentsCF)
            try storage { try db.write(batch, sync: true) }
            return .marked(previous: resident.movedOut)
        }
    }

    // MARK: Helpers

    /// The record key and record of the resident holding `number`, or nil.
    private func registeredResident(_ number: IndividualNumber) throws(NodeError) -> (key: [UInt8], resident: Resident)? {
        guard let owner = try storage({ try db.get(numberKey(number), in: numberIndexCF) }) else { return nil }
        guard let resident = try residentRecord(key: owner) else {
            throw NodeError(.corrupted, "tenant \(code): the number index points to a missing resident record")
        }
        guard resident.individualNumber == number else {
            throw NodeError(.corrupted, "tenant \(code): the number index points to another resident's record")
        }
        return (owner, resident)
    }

    func openReceived(_ envelope: [UInt8], key: [UInt8]) throws(NodeError) -> ReceivedFile {
        let plain = try crypto { try sealer.open(envelope, context: context(receivedCF, key)) }
        let file: ReceivedFile
        do {
            file = try ReceivedFile(decoding: plain)
        } catch {
            throw NodeError(.corrupted, "tenant \(code): a stored received file cannot be decoded", cause: error)
        }
        // The key is derived from the content: a mismatch means the value was moved.
        guard receivedKey(file.individualNumber, source: file.source) == key else {
            throw NodeError(.corrupted, "tenant \(code): a received file is stored under another file's key")
        }
        return file
    }
}

extension Resident {
    /// The same resident with other move flags, re-validated.
    func replacing(movedIn: MoveEvent?, movedOut: MoveEvent?) throws(ValidationError) -> Resident {
        try Resident(addressNumber: addressNumber, individualNumber: individualNumber, name: name, nameKana: nameKana,
                     dateOfBirth: dateOfBirth, sex: sex, address: address,
                     movedIn: movedIn, movedOut: movedOut, deceasedOn: deceasedOn)
    }
}
