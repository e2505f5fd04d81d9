import ArgumentParser
import Foundation
import RenkeiCSV
import RenkeiPeer
import RenkeiWire
import RenkeiImport
import RenkeiTenantStore

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import resident or vaccination CSV files into a municipality's area.",
        discussion: """
        A file is accepted whole or not at all: every row is checked first (check digits, dates, \
        required columns, duplicates, conflicts with stored data) and if any row is bad nothing is \
        stored and the bad rows are listed by line, field and rule (exit code 2). A good file is \
        stored in atomic batches, each acknowledged only after the write-ahead log is synced. \
        Re-importing the same file changes nothing. Formats: Ops/csv-formats.md.

        With --node DIR the running node imports it for a logged-in clerk (`renkei login`): the file \
        is streamed over the admin socket, held in memory on the node (never on its disk) and \
        recorded in the operation log. With --data DIR --code CODE a stopped node's store is opened here.
        """,
        subcommands: [Residents.self, Vaccinations.self]
    )

    struct Shared: ParsableArguments {
        @OptionGroup var place: NodeOrViewOptions
        @Option(help: "With --data: the municipality (tenant) to import into.")
        var code: String?
        @Option(help: "Input text encoding: utf-8, or cp932 (Shift_JIS / Windows-31J) as municipal systems export.")
        var encoding: String = "utf-8"
        @Option(help: "Rows per atomic, synced batch (1 to 10,000).")
        var batchRows: Int = 1_000
        @Option(help: "Progress display: auto (a bar on a terminal), lines, or none.")
        var progress: ProgressMode = .auto
        @Argument(help: "The CSV file.")
        var file: String

        var node: NodeOptions { place.offline }

        func validate() throws {
            try place.check(code: code)
            guard TextEncoding(name: encoding) != nil else {
                throw ValidationError("--encoding must be utf-8 or cp932 (also: shift_jis, sjis, windows-31j)")
            }
            guard (1...TenantPartition.maxBatchRows).contains(batchRows) else {
                throw ValidationError("--batch-rows must be between 1 and \(TenantPartition.maxBatchRows)")
            }
        }

        var options: ImportOptions { ImportOptions(encoding: TextEncoding(name: encoding)!, batchRows: batchRows) }

        func run(kind: String, _ body: (TenantPartition, (ImportProgress) -> Void) throws(ImportError) -> ImportReport) throws {
            let code = try municipalityCode(code!)
            let store = try node.openStore()
            let partition: TenantPartition
            do throws(NodeError) {
                partition = try store.tenant(code)
            } catch {
                throw CLIFailure("\(error.description); add it with: renkei tenant add --data \(node.data) --code \(code) --name NAME")
            }
            let display = ProgressDisplay(mode: progress)
            let report: ImportReport
            do throws(ImportError) {
                report = try body(partition) { p in
                    if p.phase == .writing && progress == .lines {
                        // One line per durable batch: what is printed is stored.
                        display.update(phase: "committed", done: p.rowsCommitted, total: nil, unit: "rows")
                    } else if progress == .auto {
                        display.update(phase: p.phase.rawValue, done: p.bytesRead / 1024, total: p.totalBytes.map { $0 / 1024 }, unit: "KiB")
                    }
                }
            } catch {
                display.finish()
                throw CLIFailure(error.description, exitCode: error.code == .rejected || error.code == .unreadable ? CLIFailure.rejected : .failure)
            }
            display.finish()
            let rate = report.seconds > 0 ? Int(Double(report.rows) / report.seconds) : report.rows
            print("imported \(report.rows) \(kind) rows into \(code): \(report.outcome.inserted) new, \(report.outcome.updated) updated, \(report.outcome.unchanged) unchanged (\(String(format: "%.2f", report.seconds)) s, \(rate) rows/s)")
        }
    }

    /// Streams the file to the running node behind view `view`.
    static func throughNode(_ view: String, kind: String, shared: Shared) async throws {
        let target = try ViewTarget(view)
        guard FileManager.default.isReadableFile(atPath: shared.file) else {
            throw CLIFailure("\(shared.file): cannot open", exitCode: CLIFailure.rejected)
        }
        var head = Renkei_Admin_V1_ImportChunk()
        head.actingCode = target.acting.rawValue
        head.kind = kind
        head.encoding = shared.encoding
        head.batchRows = UInt32(shared.batchRows)
        head.fileName = URL(fileURLWithPath: shared.file).lastPathComponent
        let first = head
        let path = shared.file
        let answer = try await target.call { client, token in
            try await Renkei_Admin_V1_Records.Client(wrapping: client).importRecords(requestProducer: { writer in
                guard let reader = FileHandle(forReadingAtPath: path) else { return }
                defer { try? reader.close() }
                var message = first
                message.session = token
                while true {
                    let data = try reader.read(upToCount: 32 * 1024) ?? Data()
                    message.data = data
                    try await writer.write(message)
                    if data.isEmpty { break }
                    message = Renkei_Admin_V1_ImportChunk()
                }
            })
        }
        let rate = answer.seconds > 0 ? Int(Double(answer.rows) / answer.seconds) : Int(answer.rows)
        print("imported \(answer.rows) \(kind == "residents" ? "resident" : "vaccination") rows into \(target.acting) through the node: \(answer.inserted) new, \(answer.updated) updated, \(answer.unchanged) unchanged (\(String(format: "%.2f", answer.seconds)) s, \(rate) rows/s; operation-log entry \(answer.auditSequence))")
    }

    struct Residents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a resident CSV (宛名番号, 個人番号, 氏名, 氏名カナ, 生年月日, 性別, 住所, …).")
        @OptionGroup var shared: Shared

        func run() async throws {
            if let view = shared.place.node {
                try await reportingFailuresAsync { try await ImportCommand.throughNode(view, kind: "residents", shared: shared) }
                return
            }
            try reportingFailures {
                let logger = shared.node.logger()
                try shared.run(kind: "resident") { partition, progress throws(ImportError) in
                    try ResidentImporter(partition: partition, options: shared.options, logger: logger)
                        .run(path: shared.file, progress: progress)
                }
            }
        }
    }

    struct Vaccinations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a vaccination CSV (one row per dose; residents must be imported first).")
        @OptionGroup var shared: Shared

        func run() async throws {
            if let view = shared.place.node {
                try await reportingFailuresAsync { try await ImportCommand.throughNode(view, kind: "vaccinations", shared: shared) }
                return
            }
            try reportingFailures {
                let logger = shared.node.logger()
                try shared.run(kind: "vaccination") { partition, progress throws(ImportError) in
                    try VaccinationImporter(partition: partition, options: shared.options, logger: logger)
                        .run(path: shared.file, progress: progress)
                }
            }
        }
    }
}
