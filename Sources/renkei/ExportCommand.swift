import ArgumentParser
import Foundation
import RenkeiCSV
import RenkeiImport
import RenkeiTenantStore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a municipality's records as CSV.",
        subcommands: [Vaccinations.self]
    )

    struct Vaccinations: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export vaccination records (never with the Individual Number).",
            discussion: """
            Writes the vaccination CSV format of Ops/csv-formats.md: residents are identified by \
            宛名番号 only. The file appears under its final name only when complete.
            """)

        @OptionGroup var node: NodeOptions
        @Option(help: "The municipality (tenant) to export.")
        var code: String
        @Option(help: "Output file.")
        var out: String
        @Option(help: "Output text encoding: utf-8 or cp932.")
        var encoding: String = "utf-8"
        @Flag(help: "Start a UTF-8 file with a byte-order mark (for spreadsheet programs).")
        var bom = false

        func validate() throws {
            guard TextEncoding(name: encoding) != nil else { throw ValidationError("--encoding must be utf-8 or cp932") }
        }

        func run() throws {
            try reportingFailures {
                let code = try municipalityCode(code)
                let store = try node.openStore()
                let partition: TenantPartition
                do throws(NodeError) { partition = try store.tenant(code) } catch {
                    throw CLIFailure(error.description, exitCode: CLIFailure.notFound)
                }
                let count = try VaccinationExporter(partition: partition, logger: node.logger())
                    .run(to: out, encoding: TextEncoding(name: encoding)!, byteOrderMark: bom)
                print("exported \(count) vaccination records of \(code) to \(out)")
            }
        }
    }
}
