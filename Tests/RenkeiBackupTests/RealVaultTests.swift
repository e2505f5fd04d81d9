import Foundation
import Logging
import RenkeiBackup
import RenkeiCore
import RenkeiPKI
import RenkeiStore
import RenkeiVault
import RenkeiVaultServer
import Testing

/// The shipper against the real vault server over mutual TLS on loopback:
/// a throwaway federation CA, a vault certificate and a node certificate.
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

/// Runs the real vault server on `port` (0: any) while `body` runs.
func withRealVault(_ fixture: TLSFixture, port: Int, _ body: @Sendable (Int, VaultStore) async throws -> Void) async throws {
    var logger = Logger(label: "test.vault")
    logger.logLevel = .warning
    let config = fixture.vaultConfig(port: port)
    let store = try VaultStore.open(root: config.dataDirectory, limits: config.limits.storeLimits, logger: logger)
    let trust = try VaultTrust(caCertificatePath: config.caCertificatePath, revocationListPath: nil)
    let server = try VaultServer.make(config: config, store: store, trust: trust, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        defer { server.beginGracefulShutdown() }
        guard let bound = try await server.listeningAddress?.ipv4?.port else {
            Issue.record("the vault did not report a port")
            return
        }
        try await body(bound, store)
        server.beginGracefulShutdown()
        try await group.waitForAll()
    }
}

/// Every change in the vault after `from`, checked contiguous; returns the last seq.
func vaultSeqs(_ store: VaultStore, after from: UInt64) throws -> [UInt64] {
    var cursor = try store.records(node: "node-a", after: from)
    var seqs: [UInt64] = []
    while let r = try cursor.next() {
        #expect((try? ChangeEntry.decode(r.payload, seq: r.seq))?.seq == r.seq)
        seqs.append(r.seq)
    }
    return seqs
}

@Suite(.serialized) struct RealVaultTests {
    @Test func shipsOverMutualTLSAndResumesAfterTheVaultRestarts() async throws {
        let fixture = try TLSFixture()
        let node = try TestNode()
        try node.write(10)
        let port = Mutex<Int>(0)
        // Phase 1: vault up, first snapshot, shipping.
        try await withRealVault(fixture, port: 0) { bound, store in
            port.withLock { $0 = bound }
            try await withShipper(node, try fixture.connector(port: bound), settings: fastSettings()) { shipper in
                try await eventually("first snapshot") { ((try? store.latestSnapshot(node: "node-a")) ?? nil) != nil }
                let last = try node.write(40, from: 10)
                try await eventually("shipped through \(last)") { shipper.status().lastAckedSeq == last }
                #expect(try store.lastSequence(node: "node-a") == last)
                let snapshot = try #require(try store.latestSnapshot(node: "node-a"))
                #expect(snapshot.files.contains { $0.name == "keys/322016.keyring" })
                #expect(snapshot.files.contains { $0.name == "db/CURRENT" })
                #expect(try vaultSeqs(store, after: snapshot.coversSeq) == Array((snapshot.coversSeq + 1)...last))
            }
        }
        // Phase 2: the vault is down while the node writes; then it is back.
        // The shipper stops before the vault does: a vault's graceful
        // shutdown waits for open Ship streams.
        let bound = port.withLock { $0 }
        var logger = Logger(label: "test.shipper")
        logger.logLevel = .critical
        let shipper = ChangeShipper(settings: fastSettings(), database: node.db, directory: node.directory,
                                    connector: try fixture.connector(port: bound), logger: logger)
        let running = Task { try await shipper.run() }
        let last = try node.write(30, from: 50)
        try await eventually("outage noticed") { shipper.status().lastError != nil }
        #expect(!shipper.status().vaultReachable)
        try await withRealVault(fixture, port: bound) { _, store in
            try await eventually("caught up to \(last)") { shipper.status().lastAckedSeq == last }
            running.cancel()
            try await running.value
            let snapshot = try #require(try store.latestSnapshot(node: "node-a"))
            // No gap, no duplicate: exactly the sequence, once each.
            #expect(try vaultSeqs(store, after: snapshot.coversSeq) == Array((snapshot.coversSeq + 1)...last))
            #expect(try store.snapshots(node: "node-a").count == 1)
            #expect(node.db.firstRetainedChangeSequence == nil)
        }
    }
}

import Synchronization
