import Logging
import RenkeiCSV
import RenkeiCore
import RenkeiTenantStore

/// Writes a tenant's vaccination records as a vaccination CSV.
///
/// The format has no 個人番号 column, so an export never carries the
/// Individual Number (the assessment's rule for CSV downloads). The file
/// appears under its final name only when complete.
public struct VaccinationExporter {
    public let partition: TenantPartition
    public let logger: Logger

    public init(partition: TenantPartition, logger: Logger) {
        self.partition = partition
        self.logger = logger
    }

    /// Returns the number of records written.
    public func run(to path: String, encoding: TextEncoding = .utf8, byteOrderMark: Bool = false,
                    progress: (Int) -> Void = { _ in }) throws -> Int {
        let writer = try CSVWriter(path: path, encoding: encoding, byteOrderMark: byteOrderMark)
        try writer.write(VaccinationCSVFormat.columns)
        var count = 0
        try partition.forEachVaccination { record in
            try writer.write(VaccinationCSVFormat.fields(of: record))
            count += 1
            if count % 10_000 == 0 { progress(count) }
            return true
        }
        try writer.finish()
        logger.info("vaccinations exported", metadata: ["tenant": "\(partition.code)", "records": "\(count)"])
        return count
    }
}
