import ArgumentParser
import Foundation
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiPeer
import RenkeiTenantStore
import RenkeiWire

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify and read the tenants' hash-chained audit logs.",
        discussion: """
        Each municipality's audit log is DATA/audit/CODE.log (one JSON entry per line) with \
        DATA/audit/CODE.head. These commands read only those files and the master key, never \
        the database, so they work while a node process runs.
        """,
        subcommands: [Verify.self, Show.self, Export.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry of the audit logs: sequence, MAC chain and head.",
            discussion: """
            Checks the log of --code, or every log in DATA/audit without --code. Exit code 0 when \
            every log is intact; 1 when one is not, naming the first broken entry as \
            "entry N (line L): reason" (edited, removed, reordered, unparseable, wrong key, \
            entries removed from the end).

            Not detectable from the files alone: both files rolled back together to an older, \
            once-genuine state.
            """)

        @OptionGroup var location: AuditLocation

        func run() throws {
            try reportingFailures {
                let resolved = try location.resolve(requireCode: false)
                let codes = resolved.code.map { [$0] } ?? AuditLogs.codesWithLogs(directory: resolved.auditDirectory)
                guard !codes.isEmpty else {
                    print("no audit logs in \(resolved.auditDirectory)")
                    return
                }
                var failures: [String] = []
                for code in codes {
                    let report = try resolved.verify(code)
                    if let problem = report.problem {
                        print("\(code)  BROKEN  \(problem) [\(problem.reason.rawValue)]")
                        failures.append("\(code): \(problem)")
                    } else {
                        let last = report.lastEntries.last.map { ", last at \($0.time)" } ?? ""
                        print("\(code)  intact  \(entries(report.verifiedEntries))\(last)")
                    }
                    for note in report.notes { print("        note: \(note)") }
                }
                if !failures.isEmpty {
                    throw CLIFailure(failures.joined(separator: "\nerror: "))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a municipality's audit log as a table, verifying it on the way.",
            discussion: """
            Entries are shown up to the first one that fails verification; the last line says \
            whether the chain is intact (exit code 0) or where it breaks (exit code 1).
            """)

        @OptionGroup var location: AuditLocation
        @Option(help: "Show only the last N entries.")
        var last: Int?

        func validate() throws {
            if let last, last < 1 { throw ArgumentParser.ValidationError("--last: must be 1 or more") }
        }

        func run() throws {
            try reportingFailures {
                let resolved = try location.resolve(requireCode: true)
                let code = resolved.code!
                let report = try resolved.verify(code, keepingLast: last ?? Int.max)
                let rows = report.lastEntries.map { e in
                    [String(e.seq), e.time, e.event.rawValue, e.outcome.rawValue, e.actor ?? "-", e.terminal ?? "-",
                     e.requesterCode ?? "-", e.targetCode ?? "-", e.requestID ?? "-",
                     e.numberIndex.map { String($0.prefix(12)) + "…" } ?? "-",
                     e.peerCertificateSHA256.map { String($0.prefix(12)) + "…" } ?? "-",
                     e.detail ?? ""]
                }
                if !rows.isEmpty {
                    print(Table.render(header: ["seq", "time (UTC)", "event", "outcome", "operator", "terminal", "requester", "target",
                                                "request id", "number index", "peer cert", "detail"], rows: rows))
                }
                for note in report.notes { print("note: \(note)") }
                if let problem = report.problem {
                    print("chain: BROKEN at \(problem)")
                    throw CLIFailure("\(code): \(problem)")
                }
                print("chain: intact, \(entries(report.verifiedEntries))")
            }
        }
    }
}

extension AuditCommand {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a municipality's operation log between two times as CSV, for auditors.",
            discussion: """
            Columns: seq, time (UTC), event, outcome, actor (operator account), terminal, requester \
            and target codes, number index (a blind index, never the number), request id, peer \
            certificate, detail. The whole log is verified while it is read; a broken chain is \
            reported (exit code 1) after the entries before the break are written.

            With --node DIR the running node exports it for a logged-in auditor, and records the \
            export. With --data DIR --code CODE the files are read here with the master key.
            --from and --to are YYYY-MM-DD (midnight UTC) or full ISO 8601 times; --to is exclusive.
            """)

        @Option(help: ArgumentHelp("The operator view of the running node (auditor session).", valueName: "dir"))
        var node: String?
        @Option(help: ArgumentHelp("Instead of --node: the node data directory.", valueName: "dir"))
        var data: String?
        @Option(help: "With --data: the municipality.")
        var code: String?
        @Option(help: "First time included (UTC).")
        var from: String?
        @Option(help: "First time no longer included (UTC).")
        var to: String?
        @Option(help: ArgumentHelp("Output CSV file, or - for standard output.", valueName: "file"))
        var out: String

        func validate() throws {
            switch (node, data, code) {
            case (.some, nil, nil), (nil, .some, .some): break
            case (.some, _, _): throw ArgumentParser.ValidationError("--node: give either --node, or --data with --code, not both")
            case (nil, .some, nil): throw ArgumentParser.ValidationError("--code: --data needs --code")
            default: throw ArgumentParser.ValidationError("--node: say where: --node DIR, or --data DIR --code CODE")
            }
        }

        static func time(_ text: String?, option: String) throws -> Date? {
            guard let text else { return nil }
            let full = ISO8601DateFormatter()
            full.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let plain = ISO8601DateFormatter()
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            guard let date = full.date(from: text) ?? plain.date(from: text) ?? day.date(from: text) else {
                throw CLIFailure("\(option): \(text) is not YYYY-MM-DD or an ISO 8601 time", exitCode: .validationFailure)
            }
            return date
        }

        func run() async throws {
            try await reportingFailuresAsync {
                let fromDate = try Self.time(from, option: "--from")
                let toDate = try Self.time(to, option: "--to")
                let csv: [UInt8], count: UInt64, problem: String?
                if let node {
                    let target = try ViewTarget(node)
                    var request = Renkei_Admin_V1_AuditExportRequest()
                    request.actingCode = target.acting.rawValue
                    request.fromUnixMillis = fromDate.map { UInt64(max(0, $0.timeIntervalSince1970 * 1000)) } ?? 0
                    request.toUnixMillis = toDate.map { UInt64(max(0, $0.timeIntervalSince1970 * 1000)) } ?? 0
                    (csv, count, problem) = try await target.call(request) { client, call in
                        return try await Renkei_Admin_V1_Records.Client(wrapping: client).auditExport(call) { response in
                            var bytes: [UInt8] = [], entries: UInt64 = 0, broken: String?
                            for try await chunk in response.messages {
                                if chunk.entries > 0 || !chunk.problem.isEmpty || bytes.isEmpty {
                                    entries = max(entries, chunk.entries)
                                    if !chunk.verified && !chunk.problem.isEmpty { broken = chunk.problem }
                                }
                                bytes += chunk.data
                            }
                            return (bytes, entries, broken)
                        }
                    }
                } else {
                    let municipality = try municipalityCode(code!)
                    let key: MasterKey
                    do throws(NodeError) {
                        key = try NodeStore.loadMasterKey(NodeDirectory(data!), source: environmentMasterKey())
                    } catch {
                        throw CLIFailure(error.description)
                    }
                    do throws(AuditError) {
                        let export = try AuditLogs.export(directory: NodeDirectory(data!).auditDirectory, code: municipality, masterKey: key,
                                                          from: fromDate, to: toDate)
                        (csv, count, problem) = (export.csv(), UInt64(export.entries.count), export.problem.map { "\($0)" })
                    } catch {
                        throw CLIFailure(error.description)
                    }
                }
                if out == "-" {
                    FileHandle.standardOutput.write(Data(csv))
                } else {
                    do {
                        try SecureFile.writeAtomically(csv, toPath: out)
                    } catch {
                        throw CLIFailure("--out: cannot write \(out): \(error)")
                    }
                    print("exported \(count) operation-log entries to \(out)")
                }
                if let problem {
                    throw CLIFailure("the log does not verify: \(problem); entries before the break were exported")
                }
            }
        }
    }
}

/// Where the audit logs are and which municipality: `--data DIR [--code C]`,
/// or `--node DIR` (an operator view: its node's data directory, acting as
/// its municipality).
struct AuditLocation: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The node data directory.", valueName: "dir"))
    var data: String?

    @Option(help: "The municipality whose log to read.")
    var code: String?

    @Option(name: .long, help: ArgumentHelp(
        "An operator view directory (holds operator.json), instead of --data and --code.", valueName: "dir"))
    var node: String?

    @Option(name: .long, help: ArgumentHelp(
        "The node master key file, if not DATA/master.key. RENKEI_MASTER_KEY (64 hex characters) takes precedence.",
        valueName: "path"))
    var masterKeyFile: String?

    func validate() throws {
        if node != nil && (data != nil || code != nil) {
            throw ArgumentParser.ValidationError("--node replaces --data and --code; give either --node, or --data (and --code)")
        }
        if node == nil && data == nil {
            throw ArgumentParser.ValidationError("give --data DIR (the node data directory) or --node DIR (an operator view)")
        }
    }

    struct Resolved {
        let dataDirectory: String
        let code: MunicipalityCode?
        let masterKey: MasterKey
        var auditDirectory: String { NodeDirectory(dataDirectory).auditDirectory }

        func verify(_ code: MunicipalityCode, keepingLast keep: Int = 1) throws -> AuditReport {
            let path = AuditLogs.logPath(directory: auditDirectory, code: code)
            do throws(AuditError) {
                return try AuditVerifier.verify(path: path, code: code, key: masterKey.auditKey(for: code.rawValue), keepingLast: keep)
            } catch {
                throw CLIFailure(error.code == .notFound ? "no audit log for municipality \(code) (\(path))" : error.description)
            }
        }
    }

    func resolve(requireCode: Bool) throws -> Resolved {
        let dataDirectory: String
        var code: MunicipalityCode?
        if let node {
            let view: OperatorView
            let config: NodeConfig
            do throws(PeerError) {
                view = try OperatorView.load(directory: node)
                config = try NodeConfig.load(contentsOf: view.nodeConfigPath)
            } catch {
                throw CLIFailure("--node: \(error.description)")
            }
            dataDirectory = config.dataDirectory
            code = view.municipality
        } else {
            dataDirectory = data!
            if let text = self.code { code = try municipalityCode(text) }
        }
        if requireCode && code == nil {
            throw CLIFailure("--code: required (or give --node)", exitCode: .validationFailure)
        }
        let source: MasterKeySource
        if let hex = ProcessInfo.processInfo.environment["RENKEI_MASTER_KEY"], !hex.isEmpty {
            source = .hex(hex)
        } else if let masterKeyFile {
            source = .file(masterKeyFile)
        } else {
            source = .dataDirectory
        }
        do throws(NodeError) {
            let key = try NodeStore.loadMasterKey(NodeDirectory(dataDirectory), source: source)
            return Resolved(dataDirectory: dataDirectory, code: code, masterKey: key)
        } catch {
            throw CLIFailure(error.description)
        }
    }
}

/// "1 entry", "3 entries".
private func entries(_ count: Int) -> String { count == 1 ? "1 entry" : "\(count) entries" }
