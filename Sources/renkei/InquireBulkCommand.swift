import ArgumentParser
import Foundation
import Logging
import RenkeiCSV
import RenkeiCore
import RenkeiPeer
import RenkeiTenantStore
import RenkeiWire
import Synchronization

/// The bulk transfer-in input (転入者一覧) and results formats.
enum BulkCSVFormat {
    static let targetCode = BulkRowRules.targetField
    static let individualNumber = BulkRowRules.numberField
    static let nameKana = BulkRowRules.nameKanaField
    static let dateOfBirth = BulkRowRules.dateOfBirthField
    static let requiredColumns = [targetCode, individualNumber]
    static let optionalColumns = [nameKana, dateOfBirth]

    static let rowNumber = "行番号"
    static let outcome = "結果"
    static let reason = "理由"
    static let doses = "接種記録数"
    static let resultColumns = [rowNumber, targetCode, outcome, reason, doses]

    /// The input's rows, numbered from 1 (data rows, header excluded).
    /// A file that is not CSV or lacks a required column is a usage error;
    /// a row with bad values is not (it becomes an INVALID result).
    static func readRows(path: String) throws -> [BulkRow] {
        do {
            let reader = try CSVReader(path: path, encoding: .utf8)
            guard let headerRecord = try reader.next() else {
                throw CLIFailure("\(path): the file is empty; it needs the header \(requiredColumns.joined(separator: ","))[,\(optionalColumns.joined(separator: ","))]",
                                 exitCode: .validationFailure)
            }
            let header = try CSVHeader(headerRecord, required: requiredColumns, optional: optionalColumns)
            var rows: [BulkRow] = []
            while let record = try reader.next() {
                guard rows.count < BulkRowRules.maxRowsPerRun else {
                    throw CLIFailure("\(path): more than \(BulkRowRules.maxRowsPerRun) rows; split the file into several runs",
                                     exitCode: .validationFailure)
                }
                rows.append(BulkRow(index: rows.count + 1,
                                    targetCode: header.value(targetCode, in: record),
                                    individualNumber: header.value(individualNumber, in: record),
                                    nameKanaHint: header.value(nameKana, in: record),
                                    dateOfBirthHint: header.value(dateOfBirth, in: record)))
            }
            return rows
        } catch let error as CSVError {
            throw CLIFailure("\(path): \(error)", exitCode: .validationFailure)
        }
    }

    /// The results row. The code is written only when it is a valid code,
    /// so a number typed into the code column never reaches the results.
    static func fields(of result: BulkRowResult, row: BulkRow?) -> [String] {
        let code = row?.targetCode.flatMap { try? MunicipalityCode($0) }?.rawValue ?? ""
        return [String(result.index), code, result.outcome.rawValue, result.reason,
                result.outcome == .match ? String(result.doses) : ""]
    }
}

extension InquireCommand {
    struct InquireBulk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bulk",
            abstract: "Ask the previous municipalities for many residents' vaccination records (転入, in bulk) and keep them.",
            discussion: """
            INPUT is a UTF-8 CSV with a header row: 前住所地市区町村コード,個人番号[,氏名カナ][,生年月日]. \
            The last two columns are optional (absent or empty); when given they are sent as hints and \
            the provider answers MATCH only if they agree. Every row is checked here first: a row that \
            breaks a rule (bad check digit, bad code, bad date) is never sent and gets INVALID naming \
            the column and the rule. The rest are grouped by the node the signed federation directory \
            names for each code, and each node is asked over mutual TLS (its certificate must carry \
            every code asked of it) with InquireBulk streams. A node that cannot be reached is tried \
            --retries times with exponential backoff (0.5 s, 1 s, 2 s…); its rows are then UNREACHABLE \
            while the others complete. Every MATCH is stored in the asking municipality's tenant; every \
            provider batch is one entry in its audit log. When the node runs, it does the work through \
            its admin socket; otherwise this command opens the store itself.

            --out gets one row per input row, in input order (0600, written atomically): \
            行番号,前住所地市区町村コード,結果,理由,接種記録数 with 結果 one of MATCH, NO_MATCH, INVALID, \
            UNREACHABLE. It holds no number and no name.

            Resuming: OUT.journal (0600) records each settled row (outcome, reason, dose count; no \
            personal data) after each provider batch, bound to a SHA-256 of INPUT and --as, \
            --purpose and --consent. Run the same command again after an interruption: rows in the \
            journal are not asked again and the results are the same as an uninterrupted run's. \
            The journal is removed when every row is settled; it is kept when rows are UNREACHABLE, \
            so a rerun asks only for those. A journal of another input or options is refused.

            --stats-json FILE writes: items (rows in INPUT), asked (rows settled by this run), \
            seconds, items_per_second (asked / seconds), batches (provider batches this run), \
            batch_latency_ms {p50, p95, p99} (batch round trips), outcomes {MATCH, NO_MATCH, INVALID, \
            UNREACHABLE} (over all rows).

            Exit codes: 0 every row MATCH, NO_MATCH or INVALID; 1 some row UNREACHABLE (or a failure); \
            64 usage error or an input that is not the CSV above (bad rows are INVALID results, not \
            usage errors).
            """)

        @Option(help: ArgumentHelp("The operator view of the asking municipality's node (a directory with operator.json).", valueName: "dir"))
        var node: String?

        @Option(help: ArgumentHelp("Instead of --node: the node configuration file (JSON); needs --as.", valueName: "file"))
        var config: String?

        @Option(name: .customLong("as"), help: ArgumentHelp("With --config: the asking municipality's code.", valueName: "code"))
        var requester: String?

        @Argument(help: ArgumentHelp("The input CSV (UTF-8).", valueName: "input.csv"))
        var input: String

        @Option(help: ArgumentHelp("The results CSV to write.", valueName: "results.csv"))
        var out: String

        @Option(help: "Items per provider batch (1-1000).")
        var batchSize: Int = 1000

        @Option(help: "InquireBulk streams per provider node (1-8).")
        var streamsPerProvider: Int = 2

        @Option(help: "Attempts per provider node before its rows are UNREACHABLE (1-10).")
        var retries: Int = 4

        @Option(help: "Why: transfer-in or certificate.")
        var purpose: String = "transfer-in"

        @Option(help: ArgumentHelp("The consent reference sent with every row (1-64 printable ASCII).", valueName: "ref"))
        var consent: String = "consent-on-file"

        @Option(help: "Progress display: auto (a bar on a terminal, quiet otherwise), lines or none.")
        var progress: ProgressMode = .auto

        @Option(help: ArgumentHelp("Write run statistics as JSON (keys above).", valueName: "file"))
        var statsJson: String?

        func validate() throws {
            switch (node, config, requester) {
            case (.some, nil, nil), (nil, .some, .some): break
            case (.some, _, _): throw ValidationError("--node: give either --node, or --config with --as, not both")
            case (nil, .some, nil): throw ValidationError("--as: --config needs --as, the asking municipality's code")
            default: throw ValidationError("--node: say which node asks: --node DIR, or --config FILE --as CODE")
            }
            guard (1...1000).contains(batchSize) else { throw ValidationError("--batch-size: must be between 1 and 1000") }
            guard (1...8).contains(streamsPerProvider) else { throw ValidationError("--streams-per-provider: must be between 1 and 8") }
            guard (1...10).contains(retries) else { throw ValidationError("--retries: must be between 1 and 10") }
            guard ["transfer-in", "certificate"].contains(purpose) else { throw ValidationError("--purpose: must be transfer-in or certificate") }
            guard !out.isEmpty, out != input else { throw ValidationError("--out: must name a results file other than the input") }
        }

        func run() async throws {
            try await reportingFailuresAsync {
                do throws(BrokenRule) {
                    try InquiryRules.checkConsentReference(consent, field: "--consent")
                } catch {
                    throw CLIFailure(error.message, exitCode: .validationFailure)
                }
                // The input's structure first: a wrong file is a usage error whatever the node.
                guard let inputData = FileManager.default.contents(atPath: input) else {
                    throw CLIFailure("\(input): cannot read the input file", exitCode: .validationFailure)
                }
                let rows = try BulkCSVFormat.readRows(path: input)
                let (nodeConfig, asking) = try resolveNode()
                let binding = BulkJournal.binding(input: [UInt8](inputData), requester: asking, purpose: purpose, consentReference: consent)
                let journalPath = out + ".journal"
                let opened: (BulkJournalFile, [Int: BulkRowResult])
                do throws(BulkJournalError) {
                    opened = try BulkJournalFile.open(path: journalPath, binding: binding)
                } catch {
                    throw CLIFailure(error.message, exitCode: error.code == .io ? .failure : .validationFailure)
                }
                let (journal, journaled) = opened
                let pending = rows.filter { journaled[$0.index] == nil }
                let collector = BulkCollector(journal: journal, resumed: rows.count - pending.count, total: rows.count,
                                              display: ProgressDisplay(mode: progress), lines: progress == .lines)
                let started = ContinuousClock.now
                if !pending.isEmpty {
                    let wirePurpose: Renkei_V1_Purpose = purpose == "certificate" ? .certificate : .transferIn
                    let options = BulkTransferInOptions(
                        client: BulkInquiryOptions(batchSize: batchSize, streamsPerProvider: streamsPerProvider,
                                                   purpose: wirePurpose, consentReference: consent),
                        attempts: retries)
                    do throws(PeerError) {
                        if FileManager.default.fileExists(atPath: nodeConfig.adminSocket) {
                            try await Self.throughRunningNode(pending, requester: asking, options: options, view: node,
                                                              socket: nodeConfig.adminSocket, collector: collector)
                        } else {
                            try await Self.withoutRunningNode(pending, requester: asking, options: options,
                                                              config: nodeConfig, collector: collector)
                        }
                    } catch {
                        collector.finishDisplay()
                        throw CLIFailure(error.description + " (settled rows are in \(journalPath); run the same command again to resume)",
                                         exitCode: error.code == .invalidInput ? .validationFailure : .failure)
                    }
                }
                collector.finishDisplay()
                let seconds = max((ContinuousClock.now - started) / .seconds(1), 0.000_001)

                // The results come from the journal (what every run agreed on)
                // plus this run's UNREACHABLE rows, which are not journaled.
                var all: [Int: BulkRowResult]
                do throws(BulkJournalError) {
                    let text = String(decoding: FileManager.default.contents(atPath: journalPath) ?? Data(), as: UTF8.self)
                    all = try BulkJournal.parse(text, binding: binding, path: journalPath)
                } catch {
                    throw CLIFailure(error.message)
                }
                for (index, r) in collector.unreachable where all[index] == nil { all[index] = r }
                let ordered: [BulkRowResult]
                switch BulkResultOrder.ordered(all, indices: rows.map(\.index)) {
                case .success(let o): ordered = o
                case .failure(let missing): throw CLIFailure("row \(missing.index) has no result (a bug); \(journalPath) is kept")
                }
                _ = try BulkResultWriter.write(ordered, rows: rows, to: out)
                var counts: [BulkRowOutcome: Int] = [:]
                for r in ordered { counts[r.outcome, default: 0] += 1 }
                if let statsJson {
                    try BulkStats(items: rows.count, asked: pending.count, seconds: seconds, batchLatencies: collector.latencies,
                                  counts: counts).write(to: statsJson)
                }
                let unreachable = counts[.unreachable, default: 0]
                print("rows \(rows.count): MATCH \(counts[.match, default: 0]), NO_MATCH \(counts[.noMatch, default: 0]), "
                      + "INVALID \(counts[.invalid, default: 0]), UNREACHABLE \(unreachable)"
                      + (rows.count - pending.count > 0 ? " (\(rows.count - pending.count) from the journal)" : "")
                      + "; results in \(out)")
                if unreachable == 0 {
                    journal.remove()
                } else {
                    throw CLIFailure("\(unreachable) row(s) UNREACHABLE (see 理由 in \(out)); \(journalPath) is kept: "
                                     + "run the same command again to ask only for those")
                }
            }
        }

        /// The node configuration and the asking municipality, from --node or --config/--as.
        func resolveNode() throws -> (NodeConfig, MunicipalityCode) {
            if let node {
                do throws(PeerError) {
                    let view = try OperatorView.load(directory: node)
                    return (try NodeConfig.load(contentsOf: view.nodeConfigPath), view.municipality)
                } catch {
                    throw CLIFailure("--node: \(error.description)", exitCode: .validationFailure)
                }
            }
            return (try loadNodeConfig(config!), try municipalityCode(requester!, option: "--as"))
        }

        /// The running node does the run; rows go over its admin socket in
        /// messages of at most 200 rows, results come back as they settle.
        static func throughRunningNode(_ rows: [BulkRow], requester: MunicipalityCode, options: BulkTransferInOptions, view: String?,
                                       socket: String, collector: BulkCollector) async throws(PeerError) {
            var head = Renkei_Admin_V1_AdminBulkRows()
            head.actingCode = requester.rawValue
            head.purpose = options.client.purpose
            head.consentReference = options.client.consentReference
            head.batchSize = UInt32(options.client.batchSize)
            head.streamsPerProvider = UInt32(options.client.streamsPerProvider)
            head.attempts = UInt32(options.attempts)
            let unsigned = head
            try await withOperatorSession(view: view, socket: socket) { token throws(PeerError) in
            var head = unsigned
            head.session = token
            let chunks: [Renkei_Admin_V1_AdminBulkRows] = stride(from: 0, to: rows.count, by: 200).enumerated().map { n, start in
                var message = n == 0 ? head : Renkei_Admin_V1_AdminBulkRows()
                message.rows = rows[start..<min(start + 200, rows.count)].map { row in
                    var wire = Renkei_Admin_V1_AdminBulkRow()
                    wire.index = UInt32(row.index)
                    wire.targetCode = row.targetCode ?? ""
                    wire.individualNumber = row.individualNumber ?? ""
                    wire.nameKanaHint = row.nameKanaHint ?? ""
                    wire.dateOfBirthHint = row.dateOfBirthHint ?? ""
                    return wire
                }
                return message
            }
            try await AdminClient.withAdmin(socket: socket) { admin in
                try await admin.inquireBulk(requestProducer: { writer in
                    try await writer.write(contentsOf: chunks)
                }, onResponse: { response in
                    for try await progress in response.messages {
                        let results = progress.results.map { r in
                            let outcome: BulkRowOutcome = switch r.outcome {
                            case .match: .match
                            case .noMatch: .noMatch
                            case .invalid: .invalid
                            default: .unreachable
                            }
                            return BulkRowResult(index: Int(r.index), outcome: outcome, reason: r.reason, doses: Int(r.doses))
                        }
                        let latency: Duration? = progress.batchLatencyMs > 0 ? .microseconds(Int64(progress.batchLatencyMs * 1000)) : nil
                        try collector.take(BulkSettlement(results: results, batchLatency: latency))
                    }
                })
            }
            }
        }

        /// No node runs on this data directory: open its store here and run.
        static func withoutRunningNode(_ rows: [BulkRow], requester: MunicipalityCode, options: BulkTransferInOptions,
                                       config: NodeConfig, collector: BulkCollector) async throws(PeerError) {
            CLILogging.bootstrap(level: .warning)
            let logger = Logger(label: "renkei.inquire")
            let store: NodeStore
            do throws(NodeError) {
                store = try NodeStore.open(NodeDirectory(config.dataDirectory), options: NodeStoreOptions(masterKey: environmentMasterKey()), logger: logger)
            } catch {
                throw PeerError(.storage, "cannot open the node's store (is a node running without its admin socket?): \(error.description)", cause: error)
            }
            let trust = try TrustSource(config: config, logger: logger)
            _ = try await BulkTransferIn(store: store, config: config, trust: trust, logger: logger)
                .run(rows, requester: requester, options: options) { settlement throws(PeerError) in
                    try collector.take(settlement)
                }
        }
    }
}

/// Takes settled rows from whichever path runs: journals them (one fsync per
/// settlement), counts, and draws progress. Called from several tasks.
final class BulkCollector: Sendable {
    private struct State {
        var unreachable: [Int: BulkRowResult] = [:]
        var done: Int
        var latencies: [Duration] = []
        let display: ProgressDisplay
    }

    private let journal: BulkJournalFile
    private let total: Int
    private let lines: Bool
    private let state: Mutex<State>

    init(journal: BulkJournalFile, resumed: Int, total: Int, display: sending ProgressDisplay, lines: Bool) {
        self.journal = journal
        self.total = total
        self.lines = lines
        state = Mutex(State(done: resumed, display: display))
    }

    func take(_ settlement: BulkSettlement) throws(PeerError) {
        do throws(BulkJournalError) {
            try journal.append(settlement.results)
        } catch {
            throw PeerError(.storage, "the journal could not be written: \(error.message)")
        }
        state.withLock { s in
            for r in settlement.results where r.outcome == .unreachable { s.unreachable[r.index] = r }
            s.done += settlement.results.count
            if let latency = settlement.batchLatency { s.latencies.append(latency) }
            // Lines mode goes to logs: a line per 10% rather than per batch.
            let step = max(total / 10, 1)
            if !lines || s.done == total || s.done / step != (s.done - settlement.results.count) / step {
                s.display.update(phase: "inquire bulk", done: s.done, total: total, unit: "rows")
            }
        }
    }

    var unreachable: [Int: BulkRowResult] { state.withLock { $0.unreachable } }
    var latencies: [Duration] { state.withLock { $0.latencies } }
    func finishDisplay() { state.withLock { $0.display.finish() } }
}

/// Writes the results CSV (0600, atomic).
enum BulkResultWriter {
    static func write(_ results: [BulkRowResult], rows: [BulkRow], to path: String) throws -> Int {
        let byIndex = Dictionary(rows.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        do {
            let writer = try CSVWriter(path: path)
            try writer.write(BulkCSVFormat.resultColumns)
            for r in results { try writer.write(BulkCSVFormat.fields(of: r, row: byIndex[r.index])) }
            try writer.finish()
            return writer.rowsWritten
        } catch let error as CSVError {
            throw CLIFailure("\(path): \(error)")
        }
    }
}

/// `--stats-json`: what the benchmark suite reads.
struct BulkStats {
    let items: Int
    let asked: Int
    let seconds: Double
    let batchLatencies: [Duration]
    let counts: [BulkRowOutcome: Int]

    /// The p-th percentile (nearest rank) in milliseconds, 0 without batches.
    static func percentile(_ sortedMs: [Double], _ p: Double) -> Double {
        guard !sortedMs.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sortedMs.count)).rounded(.up))
        return sortedMs[min(max(rank, 1), sortedMs.count) - 1]
    }

    func json() -> [String: Any] {
        let ms = batchLatencies.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }.sorted()
        return [
            "items": items,
            "asked": asked,
            "seconds": seconds,
            "items_per_second": Double(asked) / seconds,
            "batches": batchLatencies.count,
            "batch_latency_ms": ["p50": Self.percentile(ms, 50), "p95": Self.percentile(ms, 95), "p99": Self.percentile(ms, 99)],
            "outcomes": Dictionary(uniqueKeysWithValues: BulkRowOutcome.allCases.map { ($0.rawValue, counts[$0, default: 0]) }),
        ]
    }

    func write(to path: String) throws {
        do {
            let data = try JSONSerialization.data(withJSONObject: json(), options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIFailure("--stats-json: cannot write \(path): \(error.localizedDescription)")
        }
    }
}
