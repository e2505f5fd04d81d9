import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiBackup
import RenkeiTenantStore
import RenkeiWire
import ServiceLifecycle

/// The node's admin endpoint: `renkei.admin.v1.Admin`, `Access` and
/// `Records` on a unix socket in
/// the data directory, never on the network. Only the node's own operating
/// system account can connect: the socket is made 0600 and lives in the data
/// directory, which `renkei init` creates 0700 (ADR 0005).
public enum AdminServer {
    /// The admin gRPC server type.
    public typealias Server = GRPCServer<HTTP2ServerTransport.Posix>

    /// The server for `config`. A socket file left by a node that crashed is
    /// removed first: RocksDB's lock on the data directory already guarantees
    /// that no other node process uses it.
    public static func make(config: NodeConfig, store: NodeStore, gate: AccessGate, trust: TrustSource, logger: Logger,
                            backup: (any NodeBackup)? = nil,
                            onTenantsChanged: @escaping @Sendable () -> Void = {}) throws(PeerError) -> Server {
        let path = config.adminSocket
        guard path.utf8.count < 108 else {
            throw PeerError(.configuration, "adminSocketPath: \(path) is longer than a unix socket path may be (107 bytes); set a shorter adminSocketPath")
        }
        if FileManager.default.fileExists(atPath: path) {
            guard unlink(path) == 0 else {
                throw PeerError(.configuration, "cannot remove the stale admin socket \(path): \(String(cString: strerror(errno)))")
            }
        }
        let transport = HTTP2ServerTransport.Posix(
            address: .unixDomainSocket(path: path),
            transportSecurity: .plaintext,
            config: .defaults { c in
                c.rpc.maxRequestPayloadSize = 64 * 1024
                c.http2.maxConcurrentStreams = 16
                c.compression.enabledAlgorithms = .none
            })
        return GRPCServer(transport: transport, services: [
            AdminService(gate: gate, store: store, config: config, trust: trust, logger: logger, backup: backup),
            AccessService(gate: gate, logger: logger),
            RecordsService(gate: gate, store: store, config: config, logger: logger, onTenantsChanged: onTenantsChanged),
            KeyService(gate: gate, store: store, logger: logger),
        ])
    }
}

/// A gRPC server as a swift-service-lifecycle service: on graceful shutdown
/// (SIGTERM, SIGINT) it stops accepting calls and lets in-flight calls
/// finish. `onListening` runs once the server listens (e.g. to set the admin
/// socket's mode); `onStop` after it stopped.
public struct GRPCServerService: Service {
    let name: String
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let logger: Logger
    let onListening: @Sendable () throws -> Void
    let onStop: @Sendable () -> Void

    public init(name: String, server: GRPCServer<HTTP2ServerTransport.Posix>, logger: Logger,
                onListening: @escaping @Sendable () throws -> Void = {}, onStop: @escaping @Sendable () -> Void = {}) {
        self.name = name
        self.server = server
        self.logger = logger
        self.onListening = onListening
        self.onStop = onStop
    }

    public func run() async throws {
        defer { onStop() }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await server.listeningAddress {
                    try onListening()
                    logger.notice("\(name) listening", metadata: ["address": "\(address)"])
                }
            }
        } onGracefulShutdown: {
            logger.notice("graceful shutdown: \(name) finishing in-flight calls")
            server.beginGracefulShutdown()
        }
    }
}

/// The operator side of the admin endpoint.
public enum AdminClient {
    /// Runs `body` with an admin client connected to the socket at `path`.
    public static func withAdmin<T: Sendable>(
        socket path: String,
        _ body: @Sendable (Renkei_Admin_V1_Admin.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws(PeerError) -> T {
        try await withConnection(socket: path) { try await body(Renkei_Admin_V1_Admin.Client(wrapping: $0)) }
    }

    /// Runs `body` with a gRPC client on the admin socket at `path`, for any
    /// of its services. An RPCError becomes a PeerError with the node's message.
    public static func withConnection<T: Sendable>(
        socket path: String,
        _ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws(PeerError) -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw PeerError(.connection, "no node is running here: there is no admin socket at \(path) (start it with renkei node --config FILE)")
        }
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext,
                                                       config: .defaults { $0.compression.enabledAlgorithms = .none })
        } catch {
            throw PeerError(.connection, "cannot reach the admin socket \(path)", cause: SendableDescription(error))
        }
        do {
            return try await withGRPCClient(transport: transport) { client in
                try await body(client)
            }
        } catch let error as RPCError {
            let code: PeerError.Code = switch error.code {
            case .invalidArgument: .invalidInput
            case .unavailable: .connection
            case .failedPrecondition: .directory
            default: .rpc
            }
            throw PeerError(code, error.message, cause: error)
        } catch let error as PeerError {
            throw error
        } catch {
            throw PeerError(.connection, "the call to the node's admin socket \(path) failed", cause: SendableDescription(error))
        }
    }
}
