import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOPosix
import RenkeiPKI
import RenkeiVault
import RenkeiWire
import ServiceLifecycle

/// `renkei.v1.Health/Check` on the vault: serving, and the vault contract's name.
public struct VaultHealthService: Renkei_V1_Health.SimpleServiceProtocol {
    /// The contract the vault serves, as Health reports it.
    public static let protocolVersion = "renkei.vault.v1"

    public init() {}

    public func check(request: Renkei_V1_HealthCheckRequest, context: ServerContext) async throws -> Renkei_V1_HealthCheckResponse {
        var response = Renkei_V1_HealthCheckResponse()
        response.status = .serving
        response.protocolVersions = [Self.protocolVersion]
        return response
    }
}

/// Builds the vault's gRPC server: `renkei.vault.v1.Vault` and Health over
/// TLS 1.3 with client certificates required, verified inside the handshake
/// against the (reloaded) federation CA bundle and revocation list, and limited
/// to the roles node and dr-operator; the contract's message limit; no
/// compression (payloads are ciphertext and do not compress).
public enum VaultServer {
    /// The vault's gRPC server type.
    public typealias Server = GRPCServer<HTTP2ServerTransport.Posix>

    /// The server for `config` over `store`.
    ///
    /// Open Ship streams end when `drain` begins, or on the graceful
    /// shutdown of the swift-service-lifecycle service whose task runs
    /// `serve()` (then a plain `GRPCServerService` suffices). A caller that
    /// stops the server by `beginGracefulShutdown()` alone must begin the
    /// drain first, or use `VaultServerService`, which does both.
    ///
    /// `credentials`: the vault's own certificate and key, reloaded at every
    /// handshake (the vault command passes its own to reload them on SIGHUP);
    /// nil: made here from `config`.
    public static func make(config: VaultConfig, store: VaultStore, trust: VaultTrust, logger: Logger,
                            drain: ShipStreamDrain = ShipStreamDrain(),
                            credentials: OwnCredentialsReloader? = nil) throws(VaultNetworkError) -> Server {
        try make(config: config, store: store, trust: trust, logger: logger, checkOwnRole: true, drain: drain, credentials: credentials)
    }

    /// `checkOwnRole: false` only for tests of the client's refusal of a non-vault server.
    static func make(config: VaultConfig, store: VaultStore, trust: VaultTrust, logger: Logger,
                     checkOwnRole: Bool, drain: ShipStreamDrain = ShipStreamDrain(),
                     credentials: OwnCredentialsReloader? = nil) throws(VaultNetworkError) -> Server {
        for (path, what) in [(config.certificatePath, "certificatePath"), (config.privateKeyPath, "privateKeyPath")]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw VaultNetworkError(.tlsMaterial, "\(what): cannot read \(path)")
        }
        if checkOwnRole { try checkOwnCertificate(config.certificatePath) }
        let own: OwnCredentialsReloader
        if let credentials {
            own = credentials
        } else {
            own = try OwnCredentialsReloader.vault(
                certificatePath: config.certificatePath, privateKeyPath: config.privateKeyPath,
                role: checkOwnRole ? .vault : nil, trust: trust, logger: logger)
        }
        let sources = try VaultTLSSources(credentials: own.current(), trust: trust.trust)
        var tls = HTTP2ServerTransport.Posix.TransportSecurity.TLS(
            certificateChain: sources.chain,
            privateKey: sources.key,
            clientCertificateVerification: .noHostnameVerification,
            trustRoots: sources.roots,
            requireALPN: false)
        // Both asked at every handshake, so a renewed vault certificate, a new
        // CA bundle or a new revocation list applies to the next connection
        // without a restart; open connections keep what they started with.
        tls.certificateReloader = VaultCertificateReloader(own)
        tls.customVerificationCallback = VaultHandshake.callback(
            currentVerifier: { trust.verifier() },
            requirement: VaultPeerRequirement(roles: [.node, .drOperator]))
        let address: GRPCNIOTransportCore.SocketAddress = config.listenHost.contains(":")
            ? .ipv6(host: config.listenHost, port: config.listenPort)
            : .ipv4(host: config.listenHost, port: config.listenPort)
        let limits = config.limits
        let transport = HTTP2ServerTransport.Posix(
            address: address,
            transportSecurity: .tls(tls),
            config: .defaults { c in
                // The transport answers a message over its limit with a
                // stream reset, so it gets twice the contract's limit as a
                // hard ceiling and the service answers RESOURCE_EXHAUSTED
                // for anything between (as the node does, ADR 0004).
                c.rpc.maxRequestPayloadSize = limits.transportCeilingBytes
                c.http2.maxConcurrentStreams = limits.maxConcurrentStreams
                c.compression.enabledAlgorithms = .none
                c.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in VaultTLS13Guard.install(on: channel) }
            })
        return GRPCServer(transport: transport, services: [
            VaultService(store: store, logger: logger, limits: limits, drain: drain),
            VaultHealthService(),
        ])
    }

    /// Refuses to start with a certificate that is not a vault's: nodes
    /// would refuse it in every handshake.
    static func checkOwnCertificate(_ path: String) throws(VaultNetworkError) {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw VaultNetworkError(.tlsMaterial, "certificatePath: cannot read \(path)")
        }
        let info: PeerCertificateInfo
        do throws(PKIError) {
            info = try PeerCertificateInfo(bytes: Array(bytes), source: path)
        } catch {
            throw VaultNetworkError(.tlsMaterial, "certificatePath: \(error.message)", cause: error)
        }
        guard info.role == .vault else {
            throw VaultNetworkError(.tlsMaterial,
                "certificatePath: \(path) has role \(info.role?.uri ?? "none"), not \(PKIRole.vault.uri); issue a vault certificate")
        }
    }
}

/// The vault's gRPC server as a swift-service-lifecycle service. On graceful
/// shutdown (SIGTERM, SIGINT) it ends open Ship streams (each after the
/// request it is storing), stops accepting connections and lets the other
/// calls in flight finish; `run()` returns once the server has stopped.
public struct VaultServerService: Service {
    let server: VaultServer.Server
    let drain: ShipStreamDrain
    let logger: Logger

    /// - Parameters:
    ///   - server: made by `VaultServer.make` with the same `drain`.
    ///   - drain: the drain given to `VaultServer.make`.
    public init(server: VaultServer.Server, drain: ShipStreamDrain, logger: Logger) {
        self.server = server
        self.drain = drain
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await server.listeningAddress {
                    logger.notice("vault API listening", metadata: ["address": "\(address)"])
                }
            }
        } onGracefulShutdown: {
            logger.notice("graceful shutdown: vault API ending Ship streams and finishing in-flight calls")
            drain.begin()
            server.beginGracefulShutdown()
        }
    }
}

/// Runs retention over every node of the vault every `interval`, until
/// graceful shutdown. A failure for one node is logged and the others go on.
public struct VaultRetentionService: Service {
    let store: VaultStore
    let retention: VaultRetention
    let interval: Duration
    let logger: Logger

    public init(store: VaultStore, retention: VaultRetention, interval: Duration, logger: Logger) {
        self.store = store
        self.retention = retention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await runOnce()
            // Returns early on graceful shutdown (the sleep is cancelled).
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over every node, off the cooperative pool.
    public func runOnce(nowMs: UInt64 = VaultClock.nowMs()) async {
        let store = store, retention = retention, logger = logger
        do {
            try await NIOThreadPool.singleton.runIfActive {
                let nodes: [String]
                do throws(VaultError) { nodes = try store.nodes() } catch {
                    logger.error("retention: cannot list the vault's nodes", metadata: ["reason": "\(error.message)"])
                    return
                }
                for node in nodes {
                    do throws(VaultError) {
                        _ = try store.applyRetention(node: node, retention, nowMs: nowMs)
                    } catch {
                        logger.error("retention failed for a node", metadata: ["node": "\(node)", "reason": "\(error.message)"])
                    }
                }
            }
        } catch {
            logger.notice("retention skipped: the thread pool is not running")
        }
    }
}
