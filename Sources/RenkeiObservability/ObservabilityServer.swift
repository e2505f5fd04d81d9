import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization

/// The node's metrics, health and readiness over plain HTTP/1.1 on their own
/// port, as a swift-service-lifecycle `Service`.
///
/// Routes: `GET /metrics` → `text/plain; version=0.0.4` (the registry in
/// Prometheus text format); `GET /healthz` → 200 `ok` (the process runs);
/// `GET /readyz` → 200 or 503 with one line per check, `name ok` or
/// `name not-ready: reason`. Any other path 404; any other method 405.
///
/// Limits: at most ``maxConnections`` open connections (more are closed at
/// once), request heads of at most ``maxRequestHeadBytes`` (431, then close),
/// connections idle for ``idleTimeoutSeconds`` closed, `/metrics` bodies of
/// at most 16 MiB.
///
/// Graceful shutdown closes the listener, lets each connection finish the
/// request it is answering (idle ones close at once), and returns from
/// `run()` when all are closed. Cancellation closes everything at once.
///
/// Threading: the handlers run on NIO's shared event loop group; the server
/// itself is `Sendable` (its state is behind a `Mutex`).
public final class ObservabilityServer: Service, Sendable {
    /// The most connections open at once.
    public static let maxConnections = 64
    /// The longest request head accepted, in bytes.
    public static let maxRequestHeadBytes = 8 * 1024
    /// Connections with no traffic for this long are closed.
    public static let idleTimeoutSeconds: Int64 = 30

    private enum State {
        case idle
        /// `listeningPort()` is waiting; `run()` has not been called yet.
        case starting(waiters: [CheckedContinuation<Int, any Error>])
        /// `run()` is binding.
        case binding(waiters: [CheckedContinuation<Int, any Error>])
        case listening(port: Int, channel: any Channel)
        case finished
    }

    private let settings: ObservabilitySettings
    private let router: ObservabilityRouter
    private let logger: Logger
    private let state = Mutex<State>(.idle)
    private let connections = ConnectionTracker(limit: ObservabilityServer.maxConnections)

    /// - Parameters:
    ///   - settings: where to listen.
    ///   - registry: what `/metrics` serves.
    ///   - readiness: what `/readyz` reports.
    ///   - logger: for start, stop and refused connections (never request paths).
    public init(settings: ObservabilitySettings, registry: PrometheusCollectorRegistry, readiness: Readiness, logger: Logger) {
        self.settings = settings
        self.router = ObservabilityRouter(registry: registry, readiness: readiness)
        self.logger = logger
    }

    /// The bound port once listening (useful with port 0), nil before
    /// listening and after `run()` has returned. To wait for it instead, use
    /// ``listeningPort()``.
    public var boundPort: Int? {
        get async {
            state.withLock { state in
                if case .listening(let port, _) = state { return port }
                return nil
            }
        }
    }

    /// Waits until `run()` is listening and returns the bound port. Throws
    /// ``ObservabilityError`` (`.notListening`) if `run()` failed to bind or
    /// has already returned. Only returns once `run()` has been called.
    public func listeningPort() async throws -> Int {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            let immediate: Result<Int, any Error>? = state.withLock { state in
                switch state {
                case .idle:
                    state = .starting(waiters: [continuation])
                    return nil
                case .starting(var waiters):
                    waiters.append(continuation)
                    state = .starting(waiters: waiters)
                    return nil
                case .binding(var waiters):
                    waiters.append(continuation)
                    state = .binding(waiters: waiters)
                    return nil
                case .listening(let port, _):
                    return .success(port)
                case .finished:
                    return .failure(ObservabilityError(.notListening, "the observability endpoint is not running"))
                }
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }

    /// Binds, serves until graceful shutdown or cancellation, then drains
    /// open connections. Throws ``ObservabilityError`` if the settings are
    /// invalid, the address cannot be bound, or `run()` was called before.
    public func run() async throws {
        let started: Bool = state.withLock { state in
            switch state {
            case .idle:
                state = .binding(waiters: [])
                return true
            case .starting(let waiters):
                state = .binding(waiters: waiters)
                return true
            case .binding, .listening, .finished:
                return false
            }
        }
        guard started else {
            throw ObservabilityError(.alreadyRunning, "the observability endpoint was already run")
        }

        let channel: any Channel
        do {
            channel = try await bind()
        } catch {
            finish(error: error)
            throw error
        }
        let port = channel.localAddress?.port ?? settings.port
        let waiters: [CheckedContinuation<Int, any Error>] = state.withLock { state in
            var waiters: [CheckedContinuation<Int, any Error>] = []
            if case .binding(let pending) = state { waiters = pending }
            state = .listening(port: port, channel: channel)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
        logger.info("observability endpoint listening", metadata: ["host": "\(settings.host)", "port": "\(port)"])

        await withTaskCancellationOrGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }

        // The listener is closed: no connection is admitted from here on.
        // Each open one finishes its request and closes (idle ones at once,
        // stalled ones by the idle timeout), unless this task is cancelled,
        // which closes them all now.
        let open = connections.quiesce()
        for connection in open { connection.pipeline.fireUserInboundEventTriggered(QuiesceEvent()) }
        await withTaskCancellationHandler {
            for connection in open { try? await connection.closeFuture.get() }
        } onCancel: {
            for connection in open { connection.close(promise: nil) }
        }
        finish(error: nil)
        logger.info("observability endpoint stopped")
    }

    private func bind() async throws -> any Channel {
        guard settings.port >= 0 && settings.port <= 65535 else {
            throw ObservabilityError(.configuration, "observability.port must be 0…65535, got \(settings.port)")
        }
        let router = self.router
        let connections = self.connections
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: Int32(Self.maxConnections))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                guard connections.admit(channel) else {
                    logger.debug("observability connection refused: limit reached", metadata: ["limit": "\(Self.maxConnections)"])
                    return channel.eventLoop.makeFailedFuture(
                        ObservabilityError(.tooManyConnections, "more than \(Self.maxConnections) observability connections"))
                }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel.pipeline.syncOperations, router: router)
                }
            }
        do {
            return try await bootstrap.bind(host: settings.host, port: settings.port).get()
        } catch {
            throw ObservabilityError(.bind, "cannot listen on \(settings.host):\(settings.port)", cause: error)
        }
    }

    /// One connection's handlers, in order: idle timeout, head-size limit,
    /// NIO's HTTP/1.1 server handlers (400 on malformed requests), routes.
    /// Must run on the channel's event loop.
    static func configure(_ sync: ChannelPipeline.SynchronousOperations, router: ObservabilityRouter) throws {
        try sync.addHandler(IdleStateHandler(allTimeout: .seconds(idleTimeoutSeconds)))
        try sync.addHandler(RequestHeadLimiter(limit: maxRequestHeadBytes))
        try sync.configureHTTPServerPipeline(withErrorHandling: true)
        try sync.addHandler(ObservabilityHTTPHandler(router: router))
    }

    private func finish(error: (any Error)?) {
        let waiters: [CheckedContinuation<Int, any Error>] = state.withLock { state in
            var waiters: [CheckedContinuation<Int, any Error>] = []
            if case .binding(let pending) = state { waiters = pending }
            state = .finished
            return waiters
        }
        let failure = ObservabilityError(.notListening, "the observability endpoint is not running",
                                         cause: error)
        for waiter in waiters { waiter.resume(throwing: failure) }
    }
}

/// The open connections: admits at most `limit`, and none once quiescing.
final class ConnectionTracker: Sendable {
    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        var quiescing = false
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// Records `channel` and arranges for it to be forgotten when it closes;
    /// false when the limit is reached or the server is shutting down.
    func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { state in
            guard !state.quiescing, state.open.count < limit else { return false }
            state.open[id] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { [self] _ in
                _ = state.withLock { $0.open.removeValue(forKey: id) }
            }
        }
        return admitted
    }

    /// Stops admitting and returns the connections still open.
    func quiesce() -> [any Channel] {
        state.withLock { state in
            state.quiescing = true
            return Array(state.open.values)
        }
    }
}
