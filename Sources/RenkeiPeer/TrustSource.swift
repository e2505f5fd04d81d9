import Foundation
import Logging
import RenkeiCore
import RenkeiPKI
import Synchronization

/// The federation material a running node uses, reloaded without a restart
/// when its file changes: the revocation list (what the provider checks
/// client certificates against) and the signed directory (where the
/// requester sends inquiries).
///
/// Every use stats the file (microseconds) and reloads it when its stamp
/// changed. A new file that is unsigned, tampered, expired or unreadable is
/// refused: the node keeps the last good version, logs the refusal once per
/// file version, and `refusals` says so. The CA certificate itself is not
/// reloaded here (CA rollover is issue 7).
public final class TrustSource: Sendable {
    /// The federation CA.
    public let trust: FederationTrust
    private let revocations: RevocationListReloader?
    private let directoryPath: String
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var directory: Loaded<Directory>?
        /// The stamp (nil: the file was missing) of a directory version that
        /// was refused, so each version is tried and logged once.
        var refusedDirectory: FileStamp??
        var refusals = 0
    }

    private struct Loaded<Value: Sendable>: Sendable {
        let value: Value
        let stamp: FileStamp?
    }

    /// Loads the CA and the revocation list (both must be valid at start).
    /// The directory is loaded on first use, so a node that only answers
    /// inquiries starts without one being valid yet.
    public init(config: NodeConfig, logger: Logger, now: Date = Date()) throws(PeerError) {
        let loaded = try PeerTrust.load(config, now: now)
        trust = loaded.trust
        revocations = config.revocationListPath.flatMap { path in
            loaded.revocationList.map { RevocationListReloader(path: path, ca: loaded.trust, initial: $0, logger: logger) }
        }
        directoryPath = config.directoryPath
        self.logger = logger
        state = Mutex(State())
    }

    /// How many new file versions were refused since start.
    public var refusals: Int { state.withLock { $0.refusals } + (revocations?.refusals ?? 0) }

    /// The verifier for the current revocation list.
    public func verifier(now: Date = Date()) -> PeerVerifier {
        PeerVerifier(trust: trust, revocationList: revocationList(now: now))
    }

    /// The current revocation list, reloaded if its file changed.
    public func revocationList(now: Date = Date()) -> RevocationList? {
        revocations?.current(now: now)
    }

    /// The current signed directory: reloaded if its file changed; a refused
    /// new version leaves the previous one in force until that one expires.
    public func directory(now: Date = Date()) throws(PeerError) -> Directory {
        let stamp = FileStamp.of(directoryPath)
        let result: Result<Directory, PeerError> = state.withLock { state in
            let refusedVersion = state.refusedDirectory.map { $0 == stamp } ?? false
            if let current = state.directory, current.stamp == stamp || refusedVersion {
                guard current.value.expiresAt > now else {
                    return .failure(PeerError(.directory, "the federation directory expired at \(current.value.expiresAt); install a new one"))
                }
                return .success(current.value)
            }
            do throws(PKIError) {
                let directory = try SignedDirectory.load(contentsOf: directoryPath, trust: trust, now: now)
                let reloaded = state.directory != nil
                state.directory = Loaded(value: directory, stamp: stamp)
                if reloaded {
                    logger.notice("federation directory reloaded", metadata: [
                        "entries": "\(directory.entries.count)", "expires-at": "\(directory.expiresAt)"])
                }
                return .success(directory)
            } catch {
                guard let previous = state.directory, previous.value.expiresAt > now else {
                    return .failure(PeerError(.directory, error.message, cause: error))
                }
                if !refusedVersion {
                    state.refusedDirectory = .some(stamp)
                    state.refusals += 1
                    logger.error("new federation directory refused; keeping the previous one", metadata: ["reason": "\(error.message)"])
                }
                return .success(previous.value)
            }
        }
        return try result.get()
    }

    /// The route to `target` in the current directory.
    public func route(to target: MunicipalityCode, now: Date = Date()) throws(PeerError) -> PeerRoute {
        let directory = try directory(now: now)
        guard let entry = directory.entry(for: target) else {
            throw PeerError(.directory, "the federation directory lists no node for municipality \(target)")
        }
        return PeerRoute(target: target, entry: entry)
    }

    /// The trust in the `PeerTrust` shape the client takes.
    public func peerTrust(now: Date = Date()) -> PeerTrust {
        PeerTrust(trust: trust, revocationList: revocationList(now: now))
    }
}
