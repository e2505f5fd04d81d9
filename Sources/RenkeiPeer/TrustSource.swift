import Foundation
import Logging
import RenkeiCore
import RenkeiPKI
import Synchronization

/// Identifies one version of a file cheaply: a new file written and renamed
/// into place (or edited in place) changes at least one of these.
struct FileStamp: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedNanoseconds: Int64

    /// The stamp of `path`, or nil if it cannot be stat'ed.
    static func of(_ path: String) -> FileStamp? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return FileStamp(device: UInt64(s.st_dev), inode: UInt64(s.st_ino), size: Int64(s.st_size),
                         modifiedNanoseconds: Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec))
    }
}

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
    private let revocationListPath: String?
    private let directoryPath: String
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var revocations: Loaded<RevocationList>?
        var directory: Loaded<Directory>?
        /// The stamp (nil: the file was missing) of a file version that was
        /// refused, so each version is tried and logged once.
        var refusedRevocations: FileStamp??
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
        revocationListPath = config.revocationListPath
        directoryPath = config.directoryPath
        self.logger = logger
        let stamp = config.revocationListPath.flatMap(FileStamp.of)
        state = Mutex(State(revocations: loaded.revocationList.map { Loaded(value: $0, stamp: stamp) }))
    }

    /// How many new file versions were refused since start.
    public var refusals: Int { state.withLock { $0.refusals } }

    /// The verifier for the current revocation list.
    public func verifier(now: Date = Date()) -> PeerVerifier {
        PeerVerifier(trust: trust, revocationList: revocationList(now: now))
    }

    /// The current revocation list, reloaded if its file changed.
    public func revocationList(now: Date = Date()) -> RevocationList? {
        guard let path = revocationListPath else { return nil }
        let stamp = FileStamp.of(path)
        return state.withLock { state -> RevocationList? in
            if let current = state.revocations, current.stamp == stamp { return current.value }
            if let refused = state.refusedRevocations, refused == stamp { return state.revocations?.value }
            do throws(PKIError) {
                let list = try RevocationList.load(contentsOf: path, ca: trust, now: now)
                state.revocations = Loaded(value: list, stamp: stamp)
                logger.notice("revocation list reloaded", metadata: ["entries": "\(list.entries.count)", "issued-at": "\(list.issuedAt)"])
                return list
            } catch {
                state.refusedRevocations = .some(stamp)
                state.refusals += 1
                logger.error("new revocation list refused; keeping the previous one", metadata: ["reason": "\(error.message)"])
                return state.revocations?.value
            }
        }
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
