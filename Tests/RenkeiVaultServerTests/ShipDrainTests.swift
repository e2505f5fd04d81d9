import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiVault
import RenkeiWire
import ServiceLifecycle
import Synchronization
import Testing
@testable import RenkeiVaultServer

/// How `renkei vault` runs its server before this service existed (and may
/// still): `GRPCServerService` of RenkeiPeer, which on graceful shutdown
/// only calls `beginGracefulShutdown()`. Copied here (RenkeiPeer is not a
/// dependency) to check that the Ship streams end through the graceful
/// shutdown that the handlers inherit from the service's task.
struct PlainServerService: Service {
    let server: VaultServer.Server

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

/// A vault server run by a `ServiceGroup`, for graceful-shutdown tests.
struct GroupVault: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let endpoint: VaultEndpoint
    let stopped: StoppedFlag

    final class StoppedFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Starts the server of `config`, run by `VaultServerService` or, with
    /// `plain`, by `PlainServerService`.
    static func start(_ config: VaultConfig, plain: Bool) async throws -> GroupVault {
        var logger = Logger(label: "test.vault")
        logger.logLevel = .warning
        let store = try VaultStore.open(root: config.dataDirectory, limits: config.limits.storeLimits, logger: logger)
        let trust = try VaultTrust(caCertificatePath: config.caCertificatePath, revocationListPath: nil)
        let drain = ShipStreamDrain()
        let server = try VaultServer.make(config: config, store: store, trust: trust, logger: logger, drain: drain)
        let service: any Service = plain ? PlainServerService(server: server) : VaultServerService(server: server, drain: drain, logger: logger)
        let group = ServiceGroup(services: [service], logger: logger)
        let stopped = StoppedFlag()
        let task = Task {
            defer { stopped.value.store(true, ordering: .releasing) }
            try await group.run()
        }
        guard let port = try await server.listeningAddress?.ipv4?.port else {
            throw VaultNetworkError(.connection, "the test server did not report a port")
        }
        return GroupVault(group: group, task: task, endpoint: VaultEndpoint(host: "127.0.0.1", port: port), stopped: stopped)
    }

    /// Graceful shutdown, as on SIGTERM; fails the test if the group has
    /// not stopped within a generous bound (never asserts a duration).
    func stop() async throws {
        await group.triggerGracefulShutdown()
        let deadline = Date().addingTimeInterval(120)
        while !stopped.value.load(ordering: .acquiring) {
            guard Date() < deadline else {
                Issue.record("the vault's service group did not stop")
                task.cancel()
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await task.value
    }
}

/// Opens a Ship stream, sends the empty request and `then`, and keeps the
/// stream open until the vault ends it. Returns the acks it got.
func holdShipStreamOpen(_ endpoint: VaultEndpoint, _ creds: VaultClientCredentials,
                        then: Renkei_Vault_V1_ShipRequest? = nil, acked: @escaping @Sendable (Int) -> Void) async throws -> [UInt64] {
    let (requests, sink) = AsyncStream.makeStream(of: Renkei_Vault_V1_ShipRequest.self, bufferingPolicy: .bufferingNewest(4))
    sink.yield(Renkei_Vault_V1_ShipRequest())
    if let then { sink.yield(then) }
    return try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
        try await vault.ship(request: StreamingClientRequest { writer in
            for await request in requests { try await writer.write(request) }
        }, options: VaultTransport.callOptions) { response in
            defer { sink.finish() }
            var acks: [UInt64] = []
            for try await ack in response.messages {
                acks.append(ack.lastSeq)
                acked(acks.count)
            }
            return acks
        }
    }
}

@Suite struct ShipDrainTests {
    @Test(arguments: [false, true])
    func gracefulShutdownEndsAnOpenShipStream(plain: Bool) async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        let creds = try fed.credentials("node-a")
        let vault = try await GroupVault.start(fed.vaultConfig(), plain: plain)
        let acks = Atomic<Int>(0)
        let client = Task {
            try await holdShipStreamOpen(vault.endpoint, creds, then: shipRequest(1...5)) { n in acks.store(n, ordering: .releasing) }
        }
        // Both requests stored and acknowledged; the node now has nothing to send.
        let deadline = Date().addingTimeInterval(120)
        while acks.load(ordering: .acquiring) < 2 {
            guard Date() < deadline else {
                Issue.record("the vault did not acknowledge")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await vault.stop()
        // The vault ended the stream normally, after what it had stored.
        #expect(try await client.value == [0, 5])
        // Nothing half-written: a new vault on the same data continues.
        let again = try await GroupVault.start(fed.vaultConfig(), plain: plain)
        let resumed = try await VaultTransport.withClient(again.endpoint, credentials: creds) { v in
            try await ship(v, [shipRequest(nil), shipRequest(6...7)])
        }
        #expect(resumed == [5, 7])
        try await again.stop()
    }

    @Test func aDrainingVaultRefusesNewShipStreams() async throws {
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        let creds = try fed.credentials("node-a")
        let config = fed.vaultConfig()
        let logger = Logger(label: "test.vault")
        let store = try VaultStore.open(root: config.dataDirectory, limits: config.limits.storeLimits, logger: logger)
        let trust = try VaultTrust(caCertificatePath: config.caCertificatePath, revocationListPath: nil)
        let drain = ShipStreamDrain()
        let server = try VaultServer.make(config: config, store: store, trust: trust, logger: logger, drain: drain)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            let port = try #require(try await server.listeningAddress?.ipv4?.port)
            let endpoint = VaultEndpoint(host: "127.0.0.1", port: port)
            drain.begin()
            #expect(drain.isDraining)
            let error = await thrown {
                _ = try await VaultTransport.withClient(endpoint, credentials: creds) { v in try await ship(v, [shipRequest(nil)]) }
            }
            #expect(error.flatMap(rpcCode) == .unavailable)
            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
