import Foundation
import Logging
import RenkeiCSV
import RenkeiCore
import RenkeiTenantStore

/// The two passes shared by every import.
///
/// Policy (documented in Ops/csv-formats.md): a file is accepted whole or not
/// at all. Pass 1 reads and checks every row — syntax, rules, duplicates in
/// the file, conflicts with stored data — and if any row is bad, nothing is
/// stored and every bad row (up to a limit) is reported. Pass 2 re-reads the
/// file and stores it in atomic, synced batches. A crash in pass 2 leaves a
/// prefix of whole batches; running the same import again completes it,
/// because rows equal to stored ones are left untouched.
struct ImportDriver<Row: Sendable> {
    let path: String
    let options: ImportOptions
    let required: [String]
    let optional: [String]
    let logger: Logger
    let kind: String

    /// Parses one record; a rule violation is thrown as `ValidationError`.
    let parse: @Sendable (CSVHeader, CSVRecord) throws(ValidationError) -> Row
    /// Checks a batch of parsed rows against file-wide state and the store;
    /// returns errors by index within the batch.
    let check: ([(line: Int, row: Row)]) throws(NodeError) -> [RowError]
    /// Stores one batch.
    let write: ([Row]) throws(NodeError) -> WriteOutcome

    func run(progress: (ImportProgress) -> Void) throws(ImportError) -> ImportReport {
        let started = ContinuousClock.now
        let fingerprint = try fileFingerprint()

        // Pass 1: validate everything, store nothing.
        var errors: [RowError] = []
        var badRows = 0
        var rows = 0
        try readBatches { batch, bytesRead, totalBytes throws(ImportError) in
            rows += batch.count
            let found: [RowError]
            do {
                found = try check(batch.compactMap { item in item.row.map { (item.line, $0) } })
            } catch {
                throw ImportError(code: .store, message: "\(kind) import: cannot check rows against the store: \(error)",
                                  rowErrors: [], badRowCount: 0, cause: error)
            }
            for error in batch.compactMap(\.error) + found {
                badRows += 1
                if errors.count < options.maxReportedErrors { errors.append(error) }
            }
            progress(ImportProgress(phase: .validating, rowsDone: rows, rowsCommitted: 0,
                                    bytesRead: bytesRead, totalBytes: totalBytes))
        }
        guard badRows == 0 else {
            logger.warning("import rejected", metadata: ["kind": "\(kind)", "rows": "\(rows)", "bad-rows": "\(badRows)"])
            throw ImportError(
                code: .rejected,
                message: "\(path): \(badRows) of \(rows) rows are bad; the file was rejected and nothing was stored",
                rowErrors: errors.sorted { $0.line < $1.line }, badRowCount: badRows, cause: nil)
        }

        // Pass 2: store in atomic batches.
        guard try fileFingerprint() == fingerprint else {
            throw ImportError(code: .fileChanged, message: "\(path) changed while it was being imported; nothing was stored, run the import again",
                              rowErrors: [], badRowCount: 0, cause: nil)
        }
        var outcome = WriteOutcome()
        var committed = 0
        try readBatches { batch, bytesRead, totalBytes throws(ImportError) in
            var parsed: [Row] = []
            parsed.reserveCapacity(batch.count)
            for item in batch {
                guard let row = item.row else {
                    throw ImportError(code: .fileChanged, message: "\(path) changed while it was being imported (line \(item.line) no longer valid); \(committed) rows were stored, run the import again to complete it",
                                      rowErrors: [], badRowCount: 0, cause: nil)
                }
                parsed.append(row)
            }
            do {
                outcome += try write(parsed)
            } catch {
                throw ImportError(code: .store, message: "\(kind) import stopped after \(committed) stored rows: \(error)",
                                  rowErrors: [], badRowCount: 0, cause: error)
            }
            committed += parsed.count
            progress(ImportProgress(phase: .writing, rowsDone: committed, rowsCommitted: committed,
                                    bytesRead: bytesRead, totalBytes: totalBytes))
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        logger.info("import done", metadata: [
            "kind": "\(kind)", "rows": "\(rows)", "inserted": "\(outcome.inserted)",
            "updated": "\(outcome.updated)", "unchanged": "\(outcome.unchanged)",
        ])
        return ImportReport(rows: rows, outcome: outcome, seconds: seconds)
    }

    private func readBatches(
        _ body: ([ImportItem<Row>], _ bytesRead: Int, _ totalBytes: Int?) throws(ImportError) -> Void
    ) throws(ImportError) {
        // Two batches in flight: one being parsed, one being checked or stored.
        let queue = BatchQueue<ProducedBatch<Row>>(capacity: 2)
        BatchProducer(path: path, encoding: options.encoding, required: required, optional: optional,
                      batchRows: options.batchRows, parse: parse, queue: queue).start()
        defer { queue.cancel() }
        while let produced = queue.take() {
            switch produced {
            case .batch(let items, let bytesRead, let totalBytes):
                try body(items, bytesRead, totalBytes)
            case .failure(let error):
                throw error
            }
        }
    }

    private func fileFingerprint() throws(ImportError) -> [Int] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ImportError(code: .unreadable, message: "\(path): cannot open (\(String(cString: strerror(errno))))",
                              rowErrors: [], badRowCount: 0, cause: nil)
        }
        return [Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec), Int(st.st_ino)]
    }
}
