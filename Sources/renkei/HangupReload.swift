import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the process's TLS material (certificate, key, CA bundle,
/// revocation list, directory) at once on every SIGHUP, until graceful
/// shutdown (ADR 0010). Without a SIGHUP each file is still picked up at the
/// next handshake or use; the signal makes the reload (and its log lines,
/// metrics and refusals) happen now.
struct HangupReloadService: Service {
    let hangups: UnixSignalsSequence
    let logger: Logger
    let reload: @Sendable () -> Void

    /// Traps SIGHUP now (its default action ends the process), so make this
    /// before the process says it is ready.
    static func trapping(logger: Logger, reload: @escaping @Sendable () -> Void) async -> HangupReloadService {
        HangupReloadService(hangups: await UnixSignalsSequence(trapping: .sighup), logger: logger, reload: reload)
    }

    func run() async throws {
        let hangups = hangups, logger = logger, reload = reload
        try? await cancelWhenGracefulShutdown {
            for await _ in hangups {
                logger.notice("SIGHUP: reloading TLS material")
                reload()
            }
        }
    }
}
