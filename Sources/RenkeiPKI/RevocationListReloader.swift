import Foundation
import Logging
import Synchronization

/// Identifies one version of a file cheaply: a new file written and renamed
/// into place (or edited in place) changes at least one of these.
public struct FileStamp: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedNanoseconds: Int64

    /// The stamp of `path`, or nil if it cannot be stat'ed.
    public static func of(_ path: String) -> FileStamp? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return FileStamp(device: UInt64(s.st_dev), inode: UInt64(s.st_ino), size: Int64(s.st_size),
                         modifiedNanoseconds: Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec))
    }
}

/// A revocation list file in use by a running process (node or vault),
/// reloaded without a restart when it changes.
///
/// Every use stats the file (microseconds) and reloads it when its stamp
/// changed. A new version that is unsigned, tampered, expired or unreadable
/// is refused: the last good list stays in force, the refusal is logged once
/// per file version, and `refusals` counts it.
public final class RevocationListReloader: Sendable {
    public let path: String
    private let ca: FederationTrust
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var list: RevocationList
        var stamp: FileStamp?
        /// The stamp (nil inside: the file was missing) of a refused version.
        var refusedStamp: FileStamp??
        var refusals = 0
    }

    /// - Parameter initial: the list as loaded from `path` at start.
    public init(path: String, ca: FederationTrust, initial: RevocationList, logger: Logger) {
        self.path = path
        self.ca = ca
        self.logger = logger
        state = Mutex(State(list: initial, stamp: FileStamp.of(path)))
    }

    /// Loads the list now; it must be valid.
    public convenience init(path: String, ca: FederationTrust, logger: Logger, now: Date = Date()) throws(PKIError) {
        self.init(path: path, ca: ca, initial: try RevocationList.load(contentsOf: path, ca: ca, now: now), logger: logger)
    }

    /// How many new versions were refused since start.
    public var refusals: Int { state.withLock { $0.refusals } }

    /// The list in force, reloaded first if its file changed.
    public func current(now: Date = Date()) -> RevocationList {
        let stamp = FileStamp.of(path)
        return state.withLock { state -> RevocationList in
            if state.stamp == stamp { return state.list }
            if let refused = state.refusedStamp, refused == stamp { return state.list }
            do throws(PKIError) {
                let list = try RevocationList.load(contentsOf: path, ca: ca, now: now)
                state.list = list
                state.stamp = stamp
                logger.notice("revocation list reloaded", metadata: ["entries": "\(list.entries.count)", "issued-at": "\(list.issuedAt)"])
                return list
            } catch {
                state.refusedStamp = .some(stamp)
                state.refusals += 1
                logger.error("new revocation list refused; keeping the previous one", metadata: ["reason": "\(error.message)"])
                return state.list
            }
        }
    }
}
