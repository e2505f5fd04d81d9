import ArgumentParser
import Foundation
import Logging
import RenkeiAccess
import RenkeiBackup
import Metrics
import RenkeiCore
import RenkeiObservability
import RenkeiPKI
import RenkeiPeer
import RenkeiTenantStore
import ServiceLifecycle

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run the node process: the peer API over mutual TLS for the tenants in the data directory.",
        discussion: """
        Reads a JSON configuration (every key and default: Ops/configuration.md): dataDirectory, \
        listenHost, listenPort, certificatePath, privateKeyPath, caCertificatePath, optional \
        revocationListPath, directoryPath, optional limits {maxMessageBytes, maxConcurrentStreams, \
        callTimeoutSeconds, bulkStreamsPerRequester, bulkItemsPerSecondPerRequester, bulkWorkers}, \
        optional access {sessionIdleSeconds, sessionLifetimeSeconds, maxFailedLogins, lockoutSeconds, \
        dormantDays, importBytesMax}, optional metrics {host, port} (/metrics, /healthz, /readyz); \
        relative paths are \
        relative to the file, optional adminSocketPath (default DATA/admin.sock), optional vault {host, port, serverName, \
        mode async|sync, snapshotIntervalMinutes, holdBackBytesMax, shipBatchRecords, \
        reconnectDelaySecondsMin/Max, syncTimeoutSeconds}: ships every change to that vault over mutual \
        TLS with the node's certificate, plus base snapshots. Serves \
        renkei.v1.TransferInquiry and renkei.v1.Health over TLS 1.3 with client certificates \
        required, verified against the federation CA and the revocation list, and the operator \
        commands (login, user, import, export, resident, inquire, backup, tenant delete with \
        --node; each call needs an operator session, see renkei login) on the admin unix socket, mode 0600. A new certificate, key, CA bundle, revocation list or \
        directory file is picked up without a restart (at the next connection, or at once on SIGHUP); \
        one that is unsigned, tampered, expired or does not match is refused and the previous one kept. SIGTERM or SIGINT stops accepting calls, lets in-flight calls finish and exits 0. \
        RENKEI_MASTER_KEY (64 hex characters) overrides DATA/master.key.
        """)

    @Option(help: ArgumentHelp("The node configuration file (JSON).", valueName: "file"))
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format on standard error: text, or json (one object per line, for journald and log shippers).")
    var logFormat: LogFormat = .text

    func run() async throws {
        try await reportingFailuresAsync {
            CLILogging.bootstrap(level: logLevel, format: logFormat)
            let logger = Logger(label: "renkei.node")
            let nodeConfig = try loadNodeConfig(config)
            // Only main bootstraps metrics, and before anything makes one.
            let registry = nodeConfig.metrics.map { _ in MetricsBootstrap.prometheus() }
            let readiness = Readiness()
            let store: NodeStore
            do throws(NodeError) {
                store = try NodeStore.open(NodeDirectory(nodeConfig.dataDirectory),
                                           options: NodeStoreOptions(masterKey: environmentMasterKey()), logger: logger)
            } catch {
                throw CLIFailure(error.description)
            }
            // Continuous backup, if the configuration names a vault: the
            // node's own certificate authenticates it there.
            var shipper: ChangeShipper<TLSVaultConnector>?
            if let vault = nodeConfig.vault {
                do throws(BackupError) {
                    let connector = try TLSVaultConnector(
                        settings: vault, certificatePath: nodeConfig.certificatePath, privateKeyPath: nodeConfig.privateKeyPath,
                        caCertificatePath: nodeConfig.caCertificatePath, revocationListPath: nodeConfig.revocationListPath)
                    shipper = ChangeShipper(settings: vault, database: store.backupDatabase, directory: store.directory,
                                            connector: connector, logger: Logger(label: "renkei.backup"))
                } catch {
                    throw CLIFailure(error.description)
                }
            }
            // Operator accounts (DATA/access/accounts.sealed); the node starts
            // without any, and `renkei user add --data` creates the first.
            let gate: AccessGate
            do throws(AccessError) {
                let accounts = try store.openAccountBook(policy: nodeConfig.access.policy)
                gate = AccessGate(accounts: accounts, settings: nodeConfig.access, store: store, logger: logger)
                if accounts.accounts(code: nil).isEmpty {
                    logger.warning("no operator accounts: add an administrator with renkei user add --data DIR (node stopped)")
                }
            } catch {
                throw CLIFailure(error.description)
            }
            let peerServer: PeerServer.Server
            let adminServer: AdminServer.Server
            let trust: TrustSource
            do throws(PeerError) {
                trust = try TrustSource(config: nodeConfig, logger: logger)
                peerServer = try PeerServer.make(config: nodeConfig, store: store, logger: logger, trustSource: trust)
                adminServer = try AdminServer.make(config: nodeConfig, store: store, gate: gate, trust: trust, logger: logger, backup: shipper,
                                                   onTenantsChanged: { Self.recordTenants(store, readiness) })
            } catch {
                throw CLIFailure(error.description)
            }
            logger.notice("node starting", metadata: [
                "node": "\(store.manifest.nodeID)",
                "tenants": "\(store.tenants.map(\.code.rawValue).joined(separator: ","))",
                "listen": "\(nodeConfig.listenHost):\(nodeConfig.listenPort)",
            ])
            let socket = nodeConfig.adminSocket
            readiness.set("peer-api", ready: false, reason: "starting")
            readiness.set("admin-api", ready: false, reason: "starting")
            Self.recordTenants(store, readiness)
            var services: [any Service] = [
                GRPCServerService(name: "peer API", server: peerServer, logger: logger,
                                  onListening: { readiness.set("peer-api", ready: true) },
                                  onStop: { readiness.set("peer-api", ready: false, reason: "stopped") }),
                GRPCServerService(name: "admin API", server: adminServer, logger: logger,
                                  onListening: {
                                      // Only the node's own account may use it (ADR 0005).
                                      guard chmod(socket, 0o600) == 0 else {
                                          throw CLIFailure("cannot restrict the admin socket \(socket) to 0600: \(String(cString: strerror(errno)))")
                                      }
                                      readiness.set("admin-api", ready: true)
                                  },
                                  onStop: {
                                      readiness.set("admin-api", ready: false, reason: "stopped")
                                      unlink(socket)
                                  }),
            ]
            trust.recordExpiry()
            // TLS material reload on SIGHUP (ADR 0010); the node's vault client reloads its own at each connection.
            services.append(await HangupReloadService.trapping(logger: logger) { trust.reload() })
            if let registry, let settings = nodeConfig.metrics {
                services.append(ObservabilityServer(settings: settings, registry: registry, readiness: readiness, logger: logger))
                services.append(StorageGauges(store: store, logger: logger))
                logger.notice("metrics endpoint", metadata: ["listen": "\(settings.host):\(settings.port)"])
            }
            // Re-seals records after a tenant data-key rotation; resumes unfinished work.
            services.append(TenantReencrypter(store: store, settings: nodeConfig.keys, logger: Logger(label: "renkei.keys")))
            if let shipper {
                services.append(shipper)
                logger.notice("backup to vault", metadata: ["vault": "\(shipper.settings.host):\(shipper.settings.port)",
                                                           "mode": "\(shipper.settings.mode.rawValue)"])
            }
            let group = ServiceGroup(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            do {
                try await group.run()
            } catch {
                throw CLIFailure("the node stopped: \(error)")
            }
            logger.notice("node stopped")
        }
    }
}

extension NodeCommand {
    /// Readiness and `renkei_tenants_hosted` follow the hosted municipalities:
    /// at start, and after a tenant is deleted through the admin API.
    static func recordTenants(_ store: NodeStore, _ readiness: Readiness) {
        let hosted = store.tenants.count
        readiness.set("tenants", ready: hosted > 0, reason: hosted == 0 ? "no municipality hosted" : "")
        Gauge(label: "renkei_tenants_hosted").record(hosted)
    }
}

/// The master key source for a node process: RENKEI_MASTER_KEY, else DATA/master.key.
func environmentMasterKey() -> MasterKeySource {
    if let hex = ProcessInfo.processInfo.environment["RENKEI_MASTER_KEY"], !hex.isEmpty { return .hex(hex) }
    return .dataDirectory
}

/// The operator view `--node DIR`: its node's configuration and the
/// municipality it acts as, as a CLI failure naming --node if unreadable.
func operatorView(_ directory: String) throws -> (config: NodeConfig, actsAs: MunicipalityCode) {
    do throws(PeerError) {
        let view = try OperatorView.load(directory: directory)
        return (try NodeConfig.load(contentsOf: view.nodeConfigPath), view.municipality)
    } catch {
        throw CLIFailure("--node: \(error.description)", exitCode: .validationFailure)
    }
}

/// Reads a node configuration, as a CLI failure if it cannot.
func loadNodeConfig(_ path: String) throws -> NodeConfig {
    do throws(PeerError) {
        return try NodeConfig.load(contentsOf: path)
    } catch {
        throw CLIFailure(error.description)
    }
}

extension AsyncParsableCommand {
    /// Runs `body`, turning a `CLIFailure` into a message on stderr and its exit code.
    func reportingFailuresAsync(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("error: \(failure.message)\n".utf8))
            throw failure.exitCode
        }
    }
}
