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
                let residents = try partition.residents(addressNumbers: batch.map(\.row.addressNumber))
                for (item, resident) in zip(batch, residents) {
                    let record = item.row
                    guard let resident else {
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
                    let identity = "\(record.addressNumber.digits)|\(record.vaccinationDate.iso)|\(record.doseNumber)"
                    if !seen.insert(identity).inserted {
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
