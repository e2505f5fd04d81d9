import ArgumentParser
import Foundation
import RenkeiCrypto
import RenkeiCSV
import RenkeiPeer
import RenkeiWire
import RenkeiImport
import RenkeiTenantStore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a municipality's records as CSV.",
        subcommands: [Vaccinations.self]
    )

    struct Vaccinations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export vaccination records (never with the Individual Number).",
            discussion: """
            Writes the vaccination CSV format of Ops/csv-formats.md: residents are identified by \
            宛名番号 only. The file appears under its final name only when complete.

            With --node DIR the running node exports for a logged-in clerk and records it in the \
            operation log with an export id. For removable media add --media-passphrase-file FILE: the \
            file is then sealed with that passphrase (scrypt, AES-256-GCM; at least 16 characters) before \
            it touches the disk, and the log records a media export. When the medium is erased or \
            destroyed, record it with `renkei media erased --node DIR --id ID --method overwritten`. \
            Open a sealed file with `renkei media open`.
            """)

        @OptionGroup var place: NodeOrViewOptions
        @Option(help: "With --data: the municipality (tenant) to export.")
        var code: String?
        @Option(help: ArgumentHelp("With --node: seal the export for removable media with the passphrase in this file.", valueName: "file"))
        var mediaPassphraseFile: String?
        @Option(help: .hidden)
        var insecureScryptCostLog2: Int?
        @Option(help: "Output file.")
        var out: String
        @Option(help: "Output text encoding: utf-8 or cp932.")
        var encoding: String = "utf-8"
        @Flag(help: "Start a UTF-8 file with a byte-order mark (for spreadsheet programs).")
        var bom = false

        var node: NodeOptions { place.offline }

        func validate() throws {
            try place.check(code: code)
            guard TextEncoding(name: encoding) != nil else { throw ValidationError("--encoding must be utf-8 or cp932") }
            if mediaPassphraseFile != nil, place.node == nil {
                throw ValidationError("--media-passphrase-file: media exports go through the running node (--node DIR), so they are logged")
            }
        }

        func run() async throws {
            if let view = place.node {
                try await reportingFailuresAsync { try await throughNode(view) }
                return
            }
            try reportingFailures {
                let code = try municipalityCode(code!)
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
    
        /// The running node exports; the CSV arrives in chunks and goes to a
        /// temporary file (sealed for media) renamed into place when complete.
        func throughNode(_ view: String) async throws {
            let target = try ViewTarget(view)
            if FileManager.default.fileExists(atPath: out) {
                throw CLIFailure("--out \(out) exists; choose a new file", exitCode: .validationFailure)
            }
            let passphrase = try mediaPassphraseFile.map { file -> String in
                let text = try KitPassphraseOptions.readFile(file)
                do { try RecoveryKit.checkPassphrase(text) } catch let error as CryptoError {
                    throw CLIFailure("--media-passphrase-file: \(error.message)", exitCode: .validationFailure)
                }
                return text
            }
            var request = Renkei_Admin_V1_ExportRequest()
            request.actingCode = target.acting.rawValue
            request.encoding = encoding
            request.byteOrderMark = bom
            request.forMedia = passphrase != nil
            let sent = request
            let partial = out + ".partial-\(getpid())"
            let parameters = insecureScryptCostLog2.map { RecoveryKitParameters(costLog2: $0, blockSize: 8, parallelism: 1) } ?? .standard
            defer { unlink(partial) }  // gone after the rename; removes a torn export
            let (exportID, records) = try await target.call(sent) { client, call in
                return try await Renkei_Admin_V1_Records.Client(wrapping: client).exportVaccinations(call) { response in
                    var id = "", count: UInt64 = 0
                    if let passphrase {
                        let writer = try MediaSeal.Writer(path: partial, passphrase: passphrase, parameters: parameters)
                        for try await chunk in response.messages {
                            if !chunk.exportID.isEmpty { (id, count) = (chunk.exportID, chunk.records) }
                            try writer.write(Array(chunk.data))
                        }
                        _ = try writer.finish()
                    } else {
                        guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
                              let handle = FileHandle(forWritingAtPath: partial) else {
                            throw CLIFailure("--out: cannot create \(partial)")
                        }
                        defer { try? handle.close() }
                        for try await chunk in response.messages {
                            if !chunk.exportID.isEmpty { (id, count) = (chunk.exportID, chunk.records) }
                            try handle.write(contentsOf: chunk.data)
                        }
                        try handle.synchronize()
                    }
                    return (id, count)
                }
            }
            guard rename(partial, out) == 0 else {
                throw CLIFailure("--out: cannot move the export into place at \(out): \(String(cString: strerror(errno)))")
            }
            if passphrase != nil {
                print("exported \(records) vaccination records of \(target.acting) to \(out), sealed for removable media; export id \(exportID)")
                print("when the medium is erased: renkei media erased --node \(view) --id \(exportID) --method overwritten")
            } else {
                print("exported \(records) vaccination records of \(target.acting) to \(out) through the node; export id \(exportID)")
            }
        }
    }
}
