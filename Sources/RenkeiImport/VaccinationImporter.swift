import Logging
import RenkeiCSV
import RenkeiCore
import RenkeiTenantStore

/// Imports a vaccination CSV (予防接種CSV) into one tenant. Every row's
/// resident (by 宛名番号) must already be stored in the tenant.
public struct VaccinationImporter {
    public let partition: TenantPartition
    public let options: ImportOptions
    public let logger: Logger

    public init(partition: TenantPartition, options: ImportOptions = .init(), logger: Logger) {
        self.partition = partition
        self.options = options
        self.logger = logger
    }

    public func run(path: String, progress: (ImportProgress) -> Void = { _ in }) throws(ImportError) -> ImportReport {
        let tenant = partition.code
        var seen = Set<String>()
        let driver = ImportDriver<VaccinationRecord>(
            path: path, options: options,
            required: VaccinationCSVFormat.requiredColumns, optional: VaccinationCSVFormat.optionalColumns,
            logger: logger, kind: "vaccination",
            parse: { header, record throws(ValidationError) in
                try VaccinationCSVFormat.parse { header.value($0, in: record) }
            },
            check: { batch throws(NodeError) in
                var errors: [RowError] = []
                // A resident has several doses: read and decrypt each once per batch.
                let wanted = Array(Set(batch.map(\.row.addressNumber)))
                let found = try partition.residents(addressNumbers: wanted)
                var residents: [AddressNumber: Resident] = [:]
                for (number, resident) in zip(wanted, found) { residents[number] = resident }
                for item in batch {
                    let record = item.row
                    guard let resident = residents[record.addressNumber] else {
                        errors.append(RowError(line: item.line, field: AddressNumber.field.description, rule: "exists",
                                               message: "no resident with this 宛名番号 in municipality \(tenant); import residents first"))
                        continue
                    }
                    do throws(ValidationError) {
                        try record.validate(againstDateOfBirth: resident.dateOfBirth)
                    } catch {
                        errors.append(RowError(line: item.line, field: error.field, rule: error.rule.rawValue, message: error.message))
                        continue
                    }
                    if !seen.insert(record.identity).inserted {
                        errors.append(RowError(line: item.line, field: VaccinationRecord.Field.doseNumber.description, rule: "unique",
                                               message: "the same 宛名番号, 接種・予診日 and 接種回数 appear on an earlier line"))
                    }
                }
                return errors
            },
            write: { rows throws(NodeError) in try partition.upsertVaccinations(rows, sync: options.sync) })
        return try driver.run(progress: progress)
    }
}
