import Foundation
import Logging
import Metrics
@testable import RenkeiBackup
import RenkeiCore
import RenkeiPKI
import RenkeiStore
import RenkeiTenantStore
import RenkeiVault
import RenkeiVaultServer
import ServiceLifecycle
import Synchronization
import Testing

/// A node-like data directory: a change-logged database under db/, a
/// keyring file and node.json, so the snapshot layout is the real one.
final class TestNode: Sendable {
    let root: String
    let db: Database
    let cf: ColumnFamily

    init() throws {
        root = NSTemporaryDirectory() + "renkei-backup-\(UUID().uuidString)"
        let dir = NodeDirectory(root)
        try FileManager.default.createDirectory(atPath: dir.keysDirectory, withIntermediateDirectories: true)
        try Data("wrapped keys".utf8).write(to: URL(fileURLWithPath: dir.keyringPath(for: "322016")))
        try Data(#"{"nodeID":"test"}"#.utf8).write(to: URL(fileURLWithPath: dir.manifestPath))
        var options = DatabaseOptions()
        options.changeLog = true
        options.blockCacheBytes = 1 << 20
        options.writeBufferBytes = 1 << 20
        db = try Database.open(path: dir.databasePath, options: options)
        cf = try db.createColumnFamily(named: "t322016_records")
    }

    var directory: NodeDirectory { NodeDirectory(root) }

    /// Writes `count` entries, each one put of `valueBytes`; returns the last seq.
    @discardableResult
    func write(_ count: Int, from start: Int = 0, valueBytes: Int = 32) throws -> UInt64 {
        var last: UInt64 = 0
        for i in start..<(start + count) {
            last = try db.put(Array("k\(i)".utf8), [UInt8](repeating: UInt8(i & 0xff), count: valueBytes), in: cf, sync: false) ?? 0
        }
        return last
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

func fastSettings(mode: VaultSettings.Mode = .async, holdBackBytesMax: Int = 1 << 30, syncTimeoutSeconds: Double = 10,
                  snapshotIntervalSeconds: Double? = nil) -> VaultSettings {
    var settings = VaultSettings(host: "127.0.0.1", port: 1, mode: mode, snapshotIntervalMinutes: 0, holdBackBytesMax: holdBackBytesMax,
                                 shipBatchRecords: 100, reconnectDelaySecondsMin: 0.02, reconnectDelaySecondsMax: 0.1,
                                 syncTimeoutSeconds: syncTimeoutSeconds)
    settings.snapshotIntervalSecondsOverride = snapshotIntervalSeconds
    return settings
}

/// Polls `condition` until it holds, for at most `seconds` (generous: a
/// busy machine; the test fails on timeout, it never asserts a duration).
/// 120 s because in CI every suite runs at once on two cores, and the
/// shipper's first snapshot (a checkpoint, hashing, upload) once needed more
/// than 15 s there.
func eventually(_ what: String, seconds: Double = 120, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try !condition() {
        guard Date() < deadline else {
            Issue.record("timed out waiting for: \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Runs a shipper for `node` against `connector` while `body` runs.
func withShipper<C: VaultConnector>(_ node: TestNode, _ connector: C, settings: VaultSettings,
                                    metrics: (any MetricsFactory)? = nil,
                                    _ body: @Sendable (ChangeShipper<C>) async throws -> Void) async throws {
    var logger = Logger(label: "test.shipper")
    logger.logLevel = .warning
    let shipper = ChangeShipper(settings: settings, database: node.db, directory: node.directory, connector: connector,
                                logger: logger, metricsFactory: metrics, metricsNode: metrics == nil ? nil : "node-a")
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await shipper.run() }
        defer { group.cancelAll() }
        try await body(shipper)
    }
}

/// A throwaway federation CA, a vault certificate and a node certificate
/// (node-a, for 322016), for the real vault server over mutual TLS.
final class TLSFixture: Sendable {
    let dir = NSTemporaryDirectory() + "renkei-backup-tls-\(UUID().uuidString)"

    init() throws {
        let ca = try FederationCA.create(name: "Test Federation CA", validDays: 30)
        for (name, role, codes) in [("vault", PKIRole.vault, [MunicipalityCode]()), ("node-a", .node, [try MunicipalityCode("322016")])] {
            let request = CertificateRequest(name: name, role: role, municipalityCodes: codes,
                                             dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], validDays: 30)
            try ca.issue(request).write(to: dir + "/" + name)
        }
    }

    func cert(_ name: String) -> String { dir + "/\(name)/\(name).pem" }
    func key(_ name: String) -> String { dir + "/\(name)/\(name).key" }
    var caPath: String { dir + "/vault/ca.pem" }
    var vaultData: String { dir + "/vault-data" }

    func vaultConfig(port: Int) -> VaultConfig {
        VaultConfig(name: "vault", listenHost: "127.0.0.1", listenPort: port, dataDirectory: vaultData,
                    certificatePath: cert("vault"), privateKeyPath: key("vault"), caCertificatePath: caPath)
    }

    func connector(port: Int) throws -> TLSVaultConnector {
        TLSVaultConnector(endpoint: VaultEndpoint(host: "127.0.0.1", port: port, serverName: "vault"),
                          credentials: try VaultClientCredentials(certificatePath: cert("node-a"), privateKeyPath: key("node-a"),
                                                                  caCertificatePath: caPath))
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }
}

/// The real vault (`VaultServer` in a `ServiceGroup`, as `renkei vault`
/// runs it) over mutual TLS on loopback, which a test can stop gracefully
/// and start again on the same port and data: the vault's outage, as the
/// node sees it.
final class TestVault: Sendable {
    private final class Running: Sendable {
        let store: VaultStore
        let group: ServiceGroup
        let stopped = Atomic<Bool>(false)
        let task = Mutex<Task<Void, any Error>?>(nil)

        init(store: VaultStore, group: ServiceGroup) {
            self.store = store
            self.group = group
        }
    }
    let fixture: TLSFixture
    private let running = Mutex<Running?>(nil)
    private let boundPort = Mutex<Int>(0)

    init() throws { fixture = try TLSFixture() }

    /// The port the vault listens on (its first start chose it).
    var port: Int { boundPort.withLock { $0 } }

    /// A connector for node-a.
    func connector() throws -> TLSVaultConnector { try fixture.connector(port: port) }

    /// Starts the vault, on the port of its previous start if there was one.
    func start() async throws {
        var logger = Logger(label: "test.vault")
        logger.logLevel = .warning
        let config = fixture.vaultConfig(port: port)
        let store = try VaultStore.open(root: config.dataDirectory, limits: config.limits.storeLimits, logger: logger)
        let trust = try VaultTrust(caCertificatePath: config.caCertificatePath, revocationListPath: nil)
        let drain = ShipStreamDrain()
        let server = try VaultServer.make(config: config, store: store, trust: trust, logger: logger, drain: drain)
        let group = ServiceGroup(services: [VaultServerService(server: server, drain: drain, logger: logger)], logger: logger)
        let r = Running(store: store, group: group)
        r.task.withLock { t in
            t = Task {
                defer { r.stopped.store(true, ordering: .releasing) }
                try await group.run()
            }
        }
        guard let bound = try await server.listeningAddress?.ipv4?.port else {
            throw VaultNetworkError(.connection, "the test vault did not report a port")
        }
        boundPort.withLock { $0 = bound }
        running.withLock { $0 = r }
    }

    /// The running vault's store.
    var store: VaultStore {
        get throws {
            guard let store = running.withLock({ $0?.store }) else { throw VaultError(.notFound, "the test vault is not running") }
            return store
        }
    }

    /// Graceful shutdown of the vault's service group, as on SIGTERM;
    /// returns once it stopped (a failed expectation if it does not within
    /// the generous bound of `eventually`).
    func stop() async throws {
        guard let r = running.withLock({ s -> Running? in defer { s = nil }; return s }) else { return }
        await r.group.triggerGracefulShutdown()
        try await eventually("the vault's graceful shutdown completes") { r.stopped.load(ordering: .acquiring) }
        try await r.task.withLock { $0 }?.value
    }

    deinit {
        running.withLock { $0?.task.withLock { $0 }?.cancel() }
    }
}

/// Starts a vault, runs `body`, stops the vault.
func withTestVault(_ body: @Sendable (TestVault) async throws -> Void) async throws {
    let vault = try TestVault()
    try await vault.start()
    do {
        try await body(vault)
    } catch {
        try? await vault.stop()
        throw error
    }
    try await vault.stop()
}

/// Every change in the vault after `from`, each decoding to its entry.
func vaultSeqs(_ store: VaultStore, after from: UInt64) throws -> [UInt64] {
    var cursor = try store.records(node: "node-a", after: from)
    var seqs: [UInt64] = []
    while let r = try cursor.next() {
        #expect((try? ChangeEntry.decode(r.payload, seq: r.seq))?.seq == r.seq)
        seqs.append(r.seq)
    }
    return seqs
}

/// Checks the vault holds every change from `from` through `through`,
/// exactly once each and nothing else after `from - 1`.
func expectContiguous(_ store: VaultStore, from: UInt64, through: UInt64, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(try vaultSeqs(store, after: from - 1) == Array(from...through), sourceLocation: sourceLocation)
}

extension VaultStore {
    var snapshotCount: Int { (try? snapshots(node: "node-a").count) ?? 0 }
    var lastSeq: UInt64 { (try? lastSequence(node: "node-a")) ?? 0 }
}
