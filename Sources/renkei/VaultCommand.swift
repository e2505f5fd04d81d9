import ArgumentParser
import Foundation
import Logging
import RenkeiPKI
import RenkeiPeer
import RenkeiVault
import RenkeiVaultServer
import ServiceLifecycle

struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault",
        abstract: "Run the vault process: the backup API over mutual TLS, storing what nodes ship.",
        discussion: """
        Reads a JSON configuration; relative paths are relative to the file. Required: \
        dataDirectory, certificatePath (a certificate with role vault), privateKeyPath, \
        caCertificatePath. Optional: name ("vault"), listenHost ("127.0.0.1"), listenPort (7543), \
        revocationListPath, keepChangeDays (30), keepSnapshots (7), retentionIntervalSeconds \
        (3600), limits {maxMessageBytes, maxRecordsPerShip, maxChunkBytes, maxSnapshotFiles, \
        maxConcurrentStreams} (defaults: the contract's 4 MiB, 1,000, 1 MiB, 100,000; 64).

        Serves renkei.vault.v1.Vault and renkei.v1.Health over TLS 1.3. Client certificates are \
        required and verified against the federation CA and the revocation list (reloaded when \
        its file changes): a node certificate ships and snapshots its own stream, named by its \
        common name; a DR operator certificate reads any stream and writes nothing. The vault \
        holds no key that opens a record. Retention runs at start and then every \
        retentionIntervalSeconds. Writes DATA/vault.pid while running. SIGTERM or SIGINT stops \
        accepting calls, lets in-flight calls finish and exits 0.
        """)

    @Option(help: ArgumentHelp("The vault configuration file (JSON).", valueName: "file"))
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format on standard error: text, or json (one object per line, for journald and log shippers).")
    var logFormat: LogFormat = .text

    func run() async throws {
        try await reportingFailuresAsync {
            CLILogging.bootstrap(level: logLevel, format: logFormat)
            let logger = Logger(label: "renkei.vault")
            let vaultConfig: VaultConfig
            let trust: VaultTrust
            do throws(VaultNetworkError) {
                vaultConfig = try VaultConfig.load(contentsOf: config)
                trust = try VaultTrust(caCertificatePath: vaultConfig.caCertificatePath,
                                       revocationListPath: vaultConfig.revocationListPath, logger: logger)
            } catch {
                throw CLIFailure(error.description)
            }
            let store: VaultStore
            let retention: VaultRetention
            do throws(VaultError) {
                store = try VaultStore.open(root: vaultConfig.dataDirectory, limits: vaultConfig.limits.storeLimits, logger: logger)
                retention = try VaultRetention(keepChangeDays: vaultConfig.keepChangeDays, keepSnapshots: vaultConfig.keepSnapshots)
            } catch {
                throw CLIFailure("dataDirectory: \(error.description)")
            }
            let server: VaultServer.Server
            // Ends open Ship streams on graceful shutdown: a node keeps its
            // stream open for good, which would otherwise hold the server.
            let drain = ShipStreamDrain()
            let credentials: OwnCredentialsReloader
            do throws(VaultNetworkError) {
                // Checked at every handshake and on SIGHUP (ADR 0010).
                credentials = try OwnCredentialsReloader.vault(certificatePath: vaultConfig.certificatePath,
                                                               privateKeyPath: vaultConfig.privateKeyPath,
                                                               role: .vault, trust: trust, logger: logger)
                server = try VaultServer.make(config: vaultConfig, store: store, trust: trust, logger: logger, drain: drain,
                                              credentials: credentials)
            } catch {
                throw CLIFailure(error.description)
            }
            // The store's lock (flock on DATA/vault.lock) already keeps a
            // second vault off this directory; the pid file is for operators
            // and scripts.
            let pidPath = vaultConfig.pidPath
            do {
                try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: pidPath), options: .atomic)
            } catch {
                throw CLIFailure("cannot write \(pidPath): \(error)")
            }
            defer { unlink(pidPath) }
            logger.notice("vault starting", metadata: [
                "vault": "\(vaultConfig.name)", "data": "\(vaultConfig.dataDirectory)",
                "listen": "\(vaultConfig.listenHost):\(vaultConfig.listenPort)",
                "keep-change-days": "\(vaultConfig.keepChangeDays)", "keep-snapshots": "\(vaultConfig.keepSnapshots)",
            ])
            // The 30-day warning, at start and after each SIGHUP.
            let expiry: @Sendable () -> Void = {
                CertificateExpiry.record(CertificateExpiry.inUse(own: "vault", leaf: credentials.current().leaf,
                                                                 cas: trust.current().trust.certificates), logger: logger)
            }
            expiry()
            let hangup = await HangupReloadService.trapping(logger: logger) {
                expiry()
                let snapshot = trust.current()
                let own = credentials.current()
                logger.notice("TLS material checked (SIGHUP)", metadata: [
                    "vault-certificate": "serial \(own.serial) not-after \(own.notAfter)",
                    "ca": "\(TrustReloader.describe(snapshot.trust))",
                    "revocation-list-entries": "\(snapshot.revocationList.map { "\($0.entries.count)" } ?? "none")",
                    "refused-since-start": "\(trust.refusals + credentials.refusals)"])
            }
            let group = ServiceGroup(
                services: [
                    hangup,
                    VaultServerService(server: server, drain: drain, logger: logger),
                    VaultRetentionService(store: store, retention: retention,
                                          interval: .milliseconds(Int64(vaultConfig.retentionIntervalSeconds * 1000)), logger: logger),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            do {
                try await group.run()
            } catch {
                throw CLIFailure("the vault stopped: \(error)")
            }
            logger.notice("vault stopped")
        }
    }
}
