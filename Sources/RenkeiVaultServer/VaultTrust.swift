import Foundation
import Logging
import RenkeiPKI
import Synchronization

/// The federation material a vault process or a vault client trusts: the
/// federation CA and, if configured, the signed revocation list, reloaded
/// without a restart when its file changes.
///
/// The same shape as RenkeiPeer's `TrustSource`, kept here (and not shared)
/// because RenkeiPeer's node-side shipper depends on this module: a new
/// revocation list that is unsigned, tampered, expired or unreadable is
/// refused and the last good one stays in force, logged once per version.
public final class VaultTrust: Sendable {
    /// The federation CA.
    public let trust: FederationTrust
    private let revocationListPath: String?
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var revocations: RevocationList?
        var stamp: FileStamp?
        /// The stamp of a version that was refused (nil inside: the file was missing).
        var refusedStamp: FileStamp??
        var refusals = 0
    }

    /// Loads the CA and the revocation list; both must be valid at start.
    public init(caCertificatePath: String, revocationListPath: String?, logger: Logger = Logger(label: "renkei.vault.trust"),
                now: Date = Date()) throws(VaultNetworkError) {
        do throws(PKIError) {
            let ca = try FederationTrust(contentsOf: caCertificatePath)
            let list = try revocationListPath.map { path throws(PKIError) in
                try RevocationList.load(contentsOf: path, ca: ca, now: now)
            }
            trust = ca
            self.revocationListPath = revocationListPath
            self.logger = logger
            state = Mutex(State(revocations: list, stamp: revocationListPath.flatMap(FileStamp.of)))
        } catch {
            throw VaultNetworkError(.tlsMaterial, error.message, cause: error)
        }
    }

    /// How many new revocation list versions were refused since start.
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
            if state.stamp == stamp { return state.revocations }
            if let refused = state.refusedStamp, refused == stamp { return state.revocations }
            do throws(PKIError) {
                let list = try RevocationList.load(contentsOf: path, ca: trust, now: now)
                state.revocations = list
                state.stamp = stamp
                logger.notice("revocation list reloaded", metadata: ["entries": "\(list.entries.count)", "issued-at": "\(list.issuedAt)"])
                return list
            } catch {
                state.refusedStamp = .some(stamp)
                state.refusals += 1
                logger.error("new revocation list refused; keeping the previous one", metadata: ["reason": "\(error.message)"])
                return state.revocations
            }
        }
    }
}

/// Identifies one version of a file cheaply (device, inode, size, mtime).
struct FileStamp: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedNanoseconds: Int64

    static func of(_ path: String) -> FileStamp? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return FileStamp(device: UInt64(s.st_dev), inode: UInt64(s.st_ino), size: Int64(s.st_size),
                         modifiedNanoseconds: Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec))
    }
}
