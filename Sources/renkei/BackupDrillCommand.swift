import ArgumentParser
import Foundation
import Logging
import RenkeiCrypto
import RenkeiPKI
import RenkeiPeer
import RenkeiRestore
import RenkeiTenantStore
import RenkeiVaultServer
import RenkeiWire

/// `renkei backup drill --node DIR`: proves, against the running node, that
/// the vault can rebuild it. Registered in the `backup` group.
struct BackupDrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Restore the running node from its vault into a scratch directory and compare it with the live node.",
        discussion: """
        1. The node of the operator view --node DIR writes a drill sentinel (a random token and \
        the time; node metadata, no personal data) and counts every tenant's records in the \
        state right after a known change (the node logs this).
        2. The drill waits (--timeout) until the vault has acknowledged that change.
        3. It restores the whole node from the vault (as renkei restore does, every checksum \
        verified) into a scratch directory, exactly up to that change; the time taken is the RTO.
        4. It opens the restored copy and compares each tenant's counts and the sentinel.
        5. It prints per tenant live and restored counts with OK or MISMATCH, whether the \
        sentinel was found, the RPO (the restore's start minus the commit time of the newest \
        change the vault held) and the RTO. --json prints the same as one object.

        --vault is the vault's operator view (vault.json and a DR certificate); by default the \
        cluster layout's ../vault beside --node. Each tenant's recovery kit: --recovery-kit FILE \
        (repeat per tenant of the node) with --passphrase-file FILE (once for all kits, or once \
        per kit in order); by default the cluster layout's ../CODE/recovery-kit.json and \
        recovery-kit.passphrase for each tenant.

        The scratch directory (--scratch, new or empty; default a fresh temporary directory) is \
        removed afterwards unless --keep.

        Exit codes: 0 everything matched, 1 a mismatch or a failure (the failing part is named), \
        64 an invalid option value.
        """)

    @Option(help: ArgumentHelp("The operator view of the node (a directory with operator.json).", valueName: "dir"))
    var node: String
    @Option(help: ArgumentHelp("The vault's operator view (vault.json); default: ../vault beside --node.", valueName: "dir"))
    var vault: String?
    @Option(help: ArgumentHelp("Restore into this directory (new or empty); default: a fresh temporary directory.", valueName: "dir"))
    var scratch: String?
    @Flag(help: "Keep the restored copy instead of removing it.")
    var keep = false
    @Flag(help: "Print JSON.")
    var json = false
    @Option(help: ArgumentHelp("Seconds to wait for the vault to acknowledge the sentinel.", valueName: "seconds"))
    var timeout: Double = 60
    @Option(name: .customLong("recovery-kit"), help: ArgumentHelp("A tenant's recovery kit; repeat for each tenant of the node.", valueName: "file"))
    var recoveryKits: [String] = []
    @Option(help: ArgumentHelp("A file holding the kit passphrase: once for all kits, or once per kit in order.", valueName: "file"))
    var passphraseFile: [String] = []
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout: give 0 < seconds <= 3600") }
        if !passphraseFile.isEmpty, recoveryKits.isEmpty {
            throw ValidationError("--passphrase-file goes with --recovery-kit; without --recovery-kit the cluster layout's kit and passphrase files are used")
        }
        if passphraseFile.count > 1 && passphraseFile.count != recoveryKits.count {
            throw ValidationError("give --passphrase-file once (for every kit) or once per --recovery-kit (\(recoveryKits.count))")
        }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            CLILogging.bootstrap(level: logLevel)
            let logger = Logger(label: "renkei.drill")
            let nodeView = absolute(node)
            let (config, acting) = try operatorView(nodeView)
            let view = try vaultView(nodeView: nodeView)
            let stream = try vaultStream(config)

            // 1. Mark the live node.
            var markRequest = Renkei_Admin_V1_BackupDrillMarkRequest()
            markRequest.actingCode = acting.rawValue
            let sentMark = markRequest
            let mark: Renkei_Admin_V1_BackupDrillMarkResponse
            do throws(PeerError) {
                mark = try await withOperatorSession(view: nodeView, socket: config.adminSocket, sentMark) { signed throws(PeerError) in
                    try await AdminClient.withAdmin(socket: config.adminSocket) { try await $0.backupDrillMark(signed) }
                }
            } catch {
                throw CLIFailure("drill mark on the node: \(error.description)")
            }
            var liveTenants: [String: TenantCounts] = [:]
            for t in mark.tenants {
                liveTenants[t.code] = TenantCounts(residents: Int(clamping: t.residents), vaccinations: Int(clamping: t.vaccinations),
                                                   receivedFiles: Int(clamping: t.receivedFiles))
            }
            let live = DrillLive(sentinelToken: Array(mark.sentinelToken), sentinelUnixMillis: mark.sentinelUnixMillis,
                                 sentinelSeq: mark.sentinelSeq, countedSeq: mark.countedSeq, tenants: liveTenants)
            logger.info("drill sentinel written", metadata: ["sentinel-seq": "\(live.sentinelSeq)", "counted-seq": "\(live.countedSeq)"])
            let keys = try readKeys(codes: liveTenants.keys.sorted(), nodeView: nodeView)

            // 2. Wait for the vault.
            try await waitForVault(seq: live.countedSeq, socket: config.adminSocket, acting: acting.rawValue, view: nodeView)

            // 3. Restore through exactly that change.
            let source = try remoteSource(view)
            let newest: (seq: UInt64, commitTimeMs: UInt64)?
            do throws(RestoreError) {
                newest = try await source.catalog(node: stream).newestChange
            } catch {
                throw CLIFailure("drill FAILED: the vault's catalog of node \(stream): \(error.message)")
            }
            let (target, cleanup) = try scratchTarget()
            defer { cleanup() }
            let startedMs = UInt64(Date().timeIntervalSince1970 * 1000)
            let report: RestoreReport
            do {
                report = try await Restorer(source: source, logger: logger)
                    .restore(RestoreRequest(node: stream, target: target, keys: keys, throughSeq: live.countedSeq))
            } catch let error as RestoreError {
                if json { try printJSON(DrillJSON(node: stream, scratch: target, kept: keep, verdict: nil, failures: ["restore: \(error.message)"])) }
                throw CLIFailure("drill FAILED: restore: \(error.message)")
            }

            // 4. Look at what came back.
            let sentinel: DrillSentinel?
            do throws(NodeError) {
                sentinel = try NodeStore.open(NodeDirectory(target), logger: logger).drillSentinel()
            } catch {
                throw CLIFailure("drill FAILED: the restored copy in \(target) does not open: \(error.message)")
            }
            var restoredTenants: [String: TenantCounts] = [:]
            for t in report.tenants { restoredTenants[t.code.rawValue] = t.counts }
            let verdict = DrillVerdict.judge(
                live: live,
                restored: DrillRestored(lastSeq: report.lastSeq, tenants: restoredTenants, sentinelToken: sentinel?.token, seconds: report.seconds),
                vaultNewest: newest, restoreStartedUnixMillis: startedMs)

            // 5. Report.
            if json {
                try printJSON(DrillJSON(node: stream, scratch: target, kept: keep, verdict: verdict, failures: verdict.failures))
            } else {
                print(Self.render(verdict, node: stream, target: target, kept: keep))
            }
            guard verdict.passed else {
                throw CLIFailure("drill FAILED: " + verdict.failures.joined(separator: "; "))
            }
        }
    }

    static func render(_ v: DrillVerdict, node: String, target: String, kept: Bool) -> String {
        func counts(_ c: TenantCounts?) -> [String] {
            guard let c else { return ["-", "-", "-"] }
            return [String(c.residents), String(c.vaccinations), String(c.receivedFiles)]
        }
        var lines = ["backup drill of node \(node): " + (v.passed ? "PASSED" : "FAILED")]
        lines.append(Table.render(
            header: ["CODE", "LIVE RESIDENTS", "VACCINATIONS", "RECEIVED", "RESTORED RESIDENTS", "VACCINATIONS", "RECEIVED", "STATUS"],
            rows: v.tenants.map { [$0.code] + counts($0.live) + counts($0.restored) + [$0.status.rawValue] }))
        lines.append("sentinel:  " + (v.sentinel == .found ? "found" : v.sentinel.rawValue.uppercased()))
        lines.append("changes:   live counted at \(v.liveSeq), restored through \(v.restoredSeq)"
                     + (v.vaultNewestSeq.map { ", vault newest \($0)" } ?? ""))
        lines.append("RPO:       " + (v.rpoSeconds.map { String(format: "%.3f s", $0) } ?? "n/a (the vault held nothing)")
                     + (v.vaultNewestCommitUnixMillis.map { " (newest change in the vault committed \(TimeText.iso($0)))" } ?? ""))
        lines.append("RTO:       " + String(format: "%.3f s", v.rtoSeconds) + " (restore, checksums verified)")
        lines.append(kept ? "restored copy kept in \(target)" : "restored copy removed")
        for failure in v.failures { lines.append("FAILED: \(failure)") }
        return lines.joined(separator: "\n")
    }

    // MARK: Steps

    /// Polls the node's backup status until the vault acknowledged `seq`.
    private func waitForVault(seq: UInt64, socket: String, acting: String, view: String) async throws {
        var request = Renkei_Admin_V1_BackupStatusRequest()
        request.actingCode = acting
        let sent = request
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while true {
            let status: Renkei_Admin_V1_BackupStatusResponse
            do throws(PeerError) {
                status = try await withOperatorSession(view: view, socket: socket, sent) { signed throws(PeerError) in
                    try await AdminClient.withAdmin(socket: socket) { try await $0.backupStatus(signed) }
                }
            } catch {
                throw CLIFailure("backup status of the node: \(error.description)")
            }
            if status.lastAckedSeq >= seq { return }
            if ContinuousClock.now >= deadline {
                throw CLIFailure("drill FAILED: the vault \(status.vault) has not acknowledged change \(seq) within \(timeout) s: "
                    + "reachable \(status.vaultReachable ? "yes" : "no"), last acknowledged \(status.lastAckedSeq), last shipped \(status.lastShippedSeq), "
                    + "lag \(String(format: "%.1f", status.lagSeconds)) s / \(status.lagBytes) bytes"
                    + (status.needsSnapshot ? ", a base snapshot must go first" : "")
                    + (status.lastError.isEmpty ? "" : ", last error: \(status.lastError)"))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The vault's operator view: `--vault`, else `../vault` beside the node view.
    private func vaultView(nodeView: String) throws -> VaultOperatorView {
        let path = vault.map(absolute) ?? URL(fileURLWithPath: nodeView).deletingLastPathComponent().appendingPathComponent("vault").standardizedFileURL.path
        guard VaultOperatorView.isOperatorView(path) else {
            throw CLIFailure(vault == nil
                ? "no vault operator view beside the node view (\(path)/\(VaultOperatorView.fileName) is missing); give --vault DIR"
                : "--vault \(path) is not a vault operator view (no \(VaultOperatorView.fileName))", exitCode: .validationFailure)
        }
        do throws(RestoreError) {
            return try VaultOperatorView.load(directory: path)
        } catch {
            throw CLIFailure("--vault \(path): \(error.message)", exitCode: .validationFailure)
        }
    }

    /// The node's stream in the vault: its certificate's common name (the
    /// name the vault files what the node ships under).
    private func vaultStream(_ config: NodeConfig) throws -> String {
        do {
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: config.certificatePath)))
            let name = try PeerCertificateInfo(bytes: bytes, source: config.certificatePath).name
            guard !name.isEmpty else { throw CLIFailure("the node certificate \(config.certificatePath) has no common name") }
            return name
        } catch let failure as CLIFailure {
            throw failure
        } catch {
            throw CLIFailure("cannot read the node certificate \(config.certificatePath) (the vault names the node's backup after it): \(error)")
        }
    }

    private func remoteSource(_ view: VaultOperatorView) throws -> RemoteVaultSource {
        do throws(VaultNetworkError) {
            let credentials = try VaultClientCredentials(certificatePath: view.certificate, privateKeyPath: view.privateKey,
                                                         caCertificatePath: view.caCertificate, revocationListPath: view.revocationList)
            return RemoteVaultSource(endpoint: VaultEndpoint(host: view.host, port: view.port, serverName: view.serverName), credentials: credentials)
        } catch {
            throw CLIFailure("the vault's DR credentials: \(error.message)", exitCode: .validationFailure)
        }
    }

    /// One kit per tenant of the node: as given, else the cluster layout's.
    private func readKeys(codes: [String], nodeView: String) throws -> [RestoreKey] {
        var keys: [RestoreKey] = []
        if recoveryKits.isEmpty {
            let base = URL(fileURLWithPath: nodeView).deletingLastPathComponent()
            for code in codes {
                let dir = base.appendingPathComponent(code).standardizedFileURL.path
                let kitPath = dir + "/recovery-kit.json", secretPath = dir + "/recovery-kit.passphrase"
                guard FileManager.default.fileExists(atPath: kitPath), FileManager.default.fileExists(atPath: secretPath) else {
                    throw CLIFailure("no recovery kit for municipality \(code) at \(kitPath) (with recovery-kit.passphrase beside it); give --recovery-kit FILE --passphrase-file FILE per tenant",
                                     exitCode: .validationFailure)
                }
                keys.append(RestoreKey(kit: try loadKit(kitPath), passphrase: try KitPassphraseOptions.readFile(secretPath)))
            }
            return keys
        }
        for (index, path) in recoveryKits.enumerated() {
            let secret: String
            if !passphraseFile.isEmpty {
                secret = try KitPassphraseOptions.readFile(passphraseFile.count == 1 ? passphraseFile[0] : passphraseFile[index])
            } else if let value = ProcessInfo.processInfo.environment[KitPassphraseOptions.environmentVariable], !value.isEmpty {
                secret = value
            } else {
                throw CLIFailure("no passphrase for the recovery kit \(path): give --passphrase-file FILE or set \(KitPassphraseOptions.environmentVariable)",
                                 exitCode: .validationFailure)
            }
            keys.append(RestoreKey(kit: try loadKit(path), passphrase: secret))
        }
        return keys
    }

    private func loadKit(_ path: String) throws -> RecoveryKit {
        do {
            return try RecoveryKit.load(fromPath: path)
        } catch let error as RenkeiCrypto.CryptoError {
            throw CLIFailure("recovery kit \(path): \(error.message)", exitCode: .validationFailure)
        }
    }

    /// Where to restore, and how to clean up after.
    private func scratchTarget() throws -> (String, () -> Void) {
        let keep = keep
        if let scratch {
            let target = absolute(scratch)
            let existed = FileManager.default.fileExists(atPath: target)
            return (target, {
                guard !keep else { return }
                if existed {
                    // It was empty (the restore insists): empty it again.
                    for name in (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? [] {
                        try? FileManager.default.removeItem(atPath: target + "/" + name)
                    }
                } else {
                    try? FileManager.default.removeItem(atPath: target)
                }
            })
        }
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("renkei-drill-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CLIFailure("cannot create a scratch directory in \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))")
        }
        let dir = String(cString: made)
        return (dir + "/restored", { if !keep { try? FileManager.default.removeItem(atPath: dir) } })
    }

    private func printJSON(_ value: DrillJSON) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// `--json`: the drill as one object.
private struct DrillJSON: Encodable {
    let node: String
    let scratch: String
    let kept: Bool
    /// `nil` when the drill failed before it could compare (the restore failed).
    let verdict: DrillVerdict?
    let failures: [String]
    var passed: Bool { verdict?.passed == true && failures.isEmpty }

    enum CodingKeys: String, CodingKey { case node, scratch, kept, passed, failures, tenants, sentinel, liveSeq, restoredSeq, vaultNewestSeq, vaultNewestCommitUnixMillis, rpoSeconds, rtoSeconds }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(node, forKey: .node)
        try c.encode(scratch, forKey: .scratch)
        try c.encode(kept, forKey: .kept)
        try c.encode(passed, forKey: .passed)
        try c.encode(failures, forKey: .failures)
        if let v = verdict {
            try c.encode(v.tenants, forKey: .tenants)
            try c.encode(v.sentinel, forKey: .sentinel)
            try c.encode(v.liveSeq, forKey: .liveSeq)
            try c.encode(v.restoredSeq, forKey: .restoredSeq)
            try c.encodeIfPresent(v.vaultNewestSeq, forKey: .vaultNewestSeq)
            try c.encodeIfPresent(v.vaultNewestCommitUnixMillis, forKey: .vaultNewestCommitUnixMillis)
            try c.encodeIfPresent(v.rpoSeconds, forKey: .rpoSeconds)
            try c.encode(v.rtoSeconds, forKey: .rtoSeconds)
        }
    }
}

/// `path` made absolute against the working directory.
private func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
