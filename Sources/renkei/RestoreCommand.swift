import ArgumentParser
import Foundation
import RenkeiAudit
import Logging
import RenkeiCore
import RenkeiCrypto
import RenkeiRestore
import RenkeiTenantStore
import RenkeiVaultServer
import RenkeiPeer

/// `renkei restore`: rebuild a node data directory from the vault.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Rebuild a node data directory from the vault: the latest state, or the state at a point in time.",
        discussion: """
        The restore takes the vault's newest base snapshot (or, with --at, the newest one holding only \
        changes committed by then), replays every change after it, and writes a new node data \
        directory with a NEW master key. Each tenant's keys come from its recovery kit: the vault \
        never holds a key that opens a record, so without the kit nothing is readable.

        --vault is one of:
          an operator view directory (it has vault.json: the vault's endpoint and the DR certificate;
            with --offline, the vault data directory it names is read instead);
          a vault data directory (it has nodes/): read directly, offline, e.g. the vault's disks at the DR site;
          HOST:PORT, with --cert/--key/--ca (a DR operator certificate).

        --node NAME restores a whole node (give --recovery-kit once per tenant); --code CODE restores one \
        municipality out of the node that hosts it (with --node if the vault cannot say which). \
        --at takes ISO 8601 (2026-11-28T04:10:00Z) or Unix milliseconds.

        Everything is verified on the way: each snapshot file's and segment's size and SHA-256, the \
        change sequence (a missing change is an error naming the range), and each kit against the \
        restored records. Any failure leaves --to untouched; --to must be new or empty. At the end \
        the per-tenant record counts and the time taken are printed.

        Kit passphrases: --passphrase-file once for all kits, or once per --recovery-kit in the same \
        order; else RENKEI_KIT_PASSPHRASE; else asked on the terminal for each kit.

        Exit codes: 0 restored, 1 failure (checksum, gap, vault, I/O), 2 a kit or the request was refused, 3 not found.
        """)

    @Option(help: ArgumentHelp("The vault: an operator view directory, a vault data directory, or HOST:PORT.", valueName: "vault"))
    var vault: String
    @Option(help: ArgumentHelp("The node (vault stream) to restore.", valueName: "name"))
    var node: String?
    @Option(help: ArgumentHelp("Restore only this municipality out of its node.", valueName: "code"))
    var code: String?
    @Option(help: ArgumentHelp("The new node data directory (must not exist, or be empty).", valueName: "dir"))
    var to: String
    @Option(name: .customLong("recovery-kit"), help: ArgumentHelp("A tenant's recovery kit; repeat for each tenant of a --node restore.", valueName: "file"))
    var recoveryKits: [String] = []
    @Option(help: ArgumentHelp("A file holding the kit passphrase: once for all kits, or once per kit in order.", valueName: "file"))
    var passphraseFile: [String] = []
    @Option(help: ArgumentHelp("Restore the state at this time: ISO 8601 with a zone, or Unix milliseconds.", valueName: "time"))
    var at: String?
    @Option(help: ArgumentHelp("DR operator certificate (PEM), for --vault HOST:PORT.", valueName: "file"))
    var cert: String?
    @Option(help: ArgumentHelp("Its private key (PEM).", valueName: "file"))
    var key: String?
    @Option(help: ArgumentHelp("The federation CA certificate (PEM).", valueName: "file"))
    var ca: String?
    @Option(help: ArgumentHelp("The federation revocation list, for --vault HOST:PORT.", valueName: "file"))
    var crl: String?
    @Flag(help: "With an operator view: read the vault's data directory it names (dataDirectory) instead of calling the vault.")
    var offline = false
    @Option(help: "Progress display: auto (a bar on a terminal), lines, none.")
    var progress: ProgressMode = .auto
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    func validate() throws {
        if node == nil && code == nil { throw ValidationError("give --node NAME (a whole node) or --code CODE (one municipality)") }
        if recoveryKits.isEmpty { throw ValidationError("give --recovery-kit FILE (once per tenant restored): without it nothing restored can be read") }
        if code != nil && recoveryKits.count > 1 { throw ValidationError("a --code restore takes one --recovery-kit, the municipality's") }
        if passphraseFile.count > 1 && passphraseFile.count != recoveryKits.count {
            throw ValidationError("give --passphrase-file once (for every kit) or once per --recovery-kit (\(recoveryKits.count))")
        }
        if let at, TimeText.parse(at) == nil { throw ValidationError("--at: '\(at)' is neither ISO 8601 with a zone (2026-11-28T04:10:00Z) nor Unix milliseconds") }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            CLILogging.bootstrap(level: logLevel)
            let logger = Logger(label: "renkei.restore")
            let code = try code.map { try municipalityCode($0) }
            let keys = try readKeys()
            var node = node
            let source = try vaultSource(code: code, node: &node)
            let display = ProgressDisplay(mode: progress)
            let request = RestoreRequest(node: node, code: code, target: restorePath(to), keys: keys, pointInTimeMs: at.flatMap(TimeText.parse))
            let report: RestoreReport
            do {
                report = try await Restorer(source: source, logger: logger).restore(request) { step in
                    switch step {
                    case .fetchingSnapshot(let bytes, let total):
                        display.update(phase: "snapshot", done: Int(bytes >> 20), total: Int(total >> 20), unit: "MiB")
                    case .replaying(let seq, let of):
                        display.update(phase: "changes", done: Int(seq), total: Int(of), unit: "changes")
                    case .openingTenants:
                        display.finish()
                    }
                }
            } catch let error as RestoreError {
                display.finish()
                throw CLIFailure("restore failed: \(error.message)", exitCode: Self.exitCode(error.code))
            }
            print(Self.summary(report))
            try recordRestore(report, logger: logger)
        }
    }

    /// Starts each restored municipality's operation log with a
    /// restore-performed entry: the logs themselves are not in the vault
    /// (ADR 0006), so the restored node's log begins with where it came from.
    func recordRestore(_ report: RestoreReport, logger: Logger) throws {
        let directory = NodeDirectory(report.target)
        let key: MasterKey
        do throws(NodeError) {
            key = try NodeStore.loadMasterKey(directory, source: .dataDirectory)
        } catch {
            throw CLIFailure("restored, but its operation log could not be started: \(error.description)")
        }
        let logs = AuditLogs(directory: directory.auditDirectory, masterKey: key, logger: logger)
        for tenant in report.tenants {
            var entry = AuditRecord(event: .restorePerformed, outcome: .ok,
                                    detail: "node=\(report.node) snapshot=\(report.snapshotID ?? "none") through-change=\(report.lastSeq)")
            entry.terminal = currentTerminal(nil)
            do throws(AuditError) {
                _ = try logs.log(for: tenant.code).append(entry)
            } catch {
                throw CLIFailure("restored, but the operation log of \(tenant.code) could not record it: \(error.message)")
            }
        }
    }

    static func exitCode(_ code: RestoreError.Code) -> ExitCode {
        switch code {
        case .keys, .invalidArgument: CLIFailure.rejected
        case .notFound: CLIFailure.notFound
        case .gap, .corrupt, .vault, .io, .limit: .failure
        }
    }

    static func summary(_ report: RestoreReport) -> String {
        var lines: [String] = []
        let what = report.code.map { "municipality \($0) of node \(report.node)" } ?? "node \(report.node)"
        lines.append("restored \(what) into \(report.target) in \(String(format: "%.1f", report.seconds)) s")
        lines.append("  base snapshot: \(report.snapshotID ?? "none (replayed from the first change)") (changes 1–\(report.baseSeq), \(report.snapshotFiles) files, \(report.snapshotBytes) bytes)")
        let through = report.lastCommitTimeMs.map { ", last committed \(TimeText.iso($0))" } ?? ""
        lines.append("  changes replayed: \(report.changesApplied) from \(report.segmentsRead) segments, up to change \(report.lastSeq)\(through)")
        if let at = report.pointInTimeMs { lines.append("  point in time: \(TimeText.iso(at))") }
        lines.append("  new master key: \(report.masterKeyFingerprint) (in \(report.target)/master.key)")
        lines.append(Table.render(
            header: ["CODE", "NAME", "RESIDENTS", "VACCINATIONS", "RECEIVED FILES", "KEYRING"],
            rows: report.tenants.map { [$0.code.rawValue, $0.name, String($0.counts.residents), String($0.counts.vaccinations),
                                        String($0.counts.receivedFiles), $0.keyringFingerprint] }))
        return lines.joined(separator: "\n")
    }

    /// The kits with their passphrases (checked against the length rule).
    private func readKeys() throws -> [RestoreKey] {
        var keys: [RestoreKey] = []
        for (index, path) in recoveryKits.enumerated() {
            let kit: RecoveryKit
            do {
                kit = try RecoveryKit.load(fromPath: path)
            } catch let error as RenkeiCrypto.CryptoError {
                throw CLIFailure("--recovery-kit \(path): \(error.message)", exitCode: .validationFailure)
            }
            let secret: String
            if !passphraseFile.isEmpty {
                secret = try KitPassphraseOptions.readFile(passphraseFile.count == 1 ? passphraseFile[0] : passphraseFile[index])
            } else if let value = ProcessInfo.processInfo.environment[KitPassphraseOptions.environmentVariable], !value.isEmpty {
                secret = value
            } else if let typed = try KitPassphraseOptions.prompt(label: "Passphrase of the recovery kit of \(kit.tenantCode)", confirm: false) {
                secret = typed
            } else {
                throw CLIFailure("no passphrase for the recovery kit \(path): give --passphrase-file FILE, set \(KitPassphraseOptions.environmentVariable), or run on a terminal to be asked",
                                 exitCode: .validationFailure)
            }
            keys.append(RestoreKey(kit: kit, passphrase: secret))
        }
        return keys
    }

    /// The source `--vault` names.
    private func vaultSource(code: MunicipalityCode?, node: inout String?) throws -> any VaultSource {
        let path = restorePath(vault)
        do {
            if VaultOperatorView.isOperatorView(path) {
                let view = try VaultOperatorView.load(directory: path)
                if node == nil, let code, let hosting = view.tenants?[code.rawValue] { node = hosting }
                if offline {
                    guard let data = view.dataDirectory else {
                        throw CLIFailure("--offline: \(path)/\(VaultOperatorView.fileName) names no dataDirectory", exitCode: .validationFailure)
                    }
                    return try LocalVaultSource(root: data)
                }
                return try remoteSource(host: view.host, port: view.port, serverName: view.serverName,
                                        cert: view.certificate, key: view.privateKey, ca: view.caCertificate, crl: view.revocationList)
            }
            if LocalVaultSource.isVaultDirectory(path) {
                return try LocalVaultSource(root: path)
            }
        } catch let error as RestoreError {
            throw CLIFailure("--vault \(vault): \(error.message)", exitCode: Self.exitCode(error.code))
        }
        let parts = vault.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (1...65_535).contains(port) else {
            throw CLIFailure("--vault \(vault): neither an operator view directory (vault.json), a vault data directory (nodes/), nor HOST:PORT",
                             exitCode: .validationFailure)
        }
        guard let cert, let key, let ca else {
            throw CLIFailure("--vault HOST:PORT needs --cert, --key and --ca (a DR operator certificate)", exitCode: .validationFailure)
        }
        return try remoteSource(host: String(parts[0]), port: port, serverName: nil, cert: cert, key: key, ca: ca, crl: crl)
    }

    private func remoteSource(host: String, port: Int, serverName: String?, cert: String, key: String, ca: String, crl: String?) throws -> any VaultSource {
        do throws(VaultNetworkError) {
            let credentials = try VaultClientCredentials(certificatePath: cert, privateKeyPath: key, caCertificatePath: ca, revocationListPath: crl)
            return RemoteVaultSource(endpoint: VaultEndpoint(host: host, port: port, serverName: serverName), credentials: credentials)
        } catch {
            throw CLIFailure("--vault \(vault): \(error.message)", exitCode: .validationFailure)
        }
    }
}

/// `path` made absolute against the working directory.
private func restorePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
