import Logging
import RenkeiCSV
import RenkeiCore
import RenkeiTenantStore

/// Imports a resident CSV (住民CSV) into one tenant.
public struct ResidentImporter {
    public let partition: TenantPartition
    public let options: ImportOptions
    public let logger: Logger

    public init(partition: TenantPartition, options: ImportOptions = .init(), logger: Logger) {
        self.partition = partition
        self.options = options
        self.logger = logger
    }

    /// Validates the whole file, then stores it; see `ImportDriver` for the policy.
    public func run(path: String, progress: (ImportProgress) -> Void = { _ in }) throws(ImportError) -> ImportReport {
        let tenant = partition.code
        // File-wide duplicate detection. Numbers of up to 15 digits are small
        // strings stored inline, so a million of them cost tens of MB.
        var seenAddressNumbers = Set<String>()
        var seenNumbers = Set<String>()
        let driver = ImportDriver<Resident>(
            path: path, options: options,
            required: ResidentCSVFormat.requiredColumns, optional: ResidentCSVFormat.optionalColumns,
            logger: logger, kind: "resident",
            parse: { header, record throws(ValidationError) in
                let resident = try ResidentCSVFormat.parse { header.value($0, in: record) }
                for move in [resident.movedIn, resident.movedOut].compactMap({ $0 }) where move.otherMunicipality == tenant {
                    let field = move == resident.movedIn ? Resident.Field.movedInFrom : Resident.Field.movedOutTo
                    throw ValidationError(field: field.description, rule: .inconsistent,
                                          message: "must name another municipality than \(tenant)")
                }
                return resident
            },
            check: { batch throws(NodeError) in
                var errors: [RowError] = []
                var fresh: [(line: Int, row: Resident)] = []
                for item in batch {
                    if !seenAddressNumbers.insert(item.row.addressNumber.digits).inserted {
                        errors.append(RowError(line: item.line, field: AddressNumber.field.description, rule: "unique",
                                               message: "appears on an earlier line of this file"))
                    } else if !seenNumbers.insert(item.row.individualNumber.digits).inserted {
                        errors.append(RowError(line: item.line, field: IndividualNumber.field.description, rule: "unique",
                                               message: "appears on an earlier line of this file"))
                    } else {
                        fresh.append(item)
                    }
                }
                let owners = try partition.numberOwners(fresh.map(\.row.individualNumber))
                for (item, owner) in zip(fresh, owners) {
                    if let owner, owner != partition.residentKey(item.row.addressNumber) {
                        errors.append(RowError(line: item.line, field: IndividualNumber.field.description, rule: "unique",
                                               message: "already belongs to another resident (another 宛名番号) of municipality \(tenant)"))
                    }
                }
                return errors
            },
            write: { rows throws(NodeError) in try partition.upsertResidents(rows, sync: options.sync) })
        return try driver.run(progress: progress)
    }
}
