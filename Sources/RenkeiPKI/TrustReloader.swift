import Foundation
import Logging
import Synchronization

/// The federation CA bundle and the revocation list in use by a running
/// process (node, vault, or a node's vault client), reloaded without a
/// restart when either file changes.
///
/// Every use stats both files (microseconds) and reloads what changed. A
/// new version is refused, the last good one staying in force, when:
/// - the CA file does not parse, or holds a certificate that is not a P-256 CA;
/// - the revocation list in force does not verify under the new CA bundle
///   (install a list signed by a CA of the new bundle first, or both at once);
/// - a new revocation list is unsigned, tampered, expired or signed by no CA
///   of the bundle.
/// Each refused combination of file versions is logged once and counted in
/// `refusals`. Changes are logged with the CA subjects, serials and expiry
/// dates, nothing personal.
public final class TrustReloader: Sendable {
    /// The CA bundle file.
    public let caPath: String
    /// The revocation list file, if the process uses one.
    public let revocationListPath: String?
    private let logger: Logger
    private let state: Mutex<State>

    /// The trust in force at one moment.
    public struct Snapshot: Sendable {
        /// The CA bundle.
        public let trust: FederationTrust
        /// The revocation list, if configured.
        public let revocationList: RevocationList?
        /// Increases by one each time the CA bundle is replaced.
        public let generation: Int
    }

    private struct Versions: Equatable {
        var ca: FileStamp?
        var list: FileStamp?
    }

    private struct State {
        var snapshot: Snapshot
        var loaded: Versions
        /// A combination of file versions that was refused, so each is tried and logged once.
        var refusedCA: Versions?
        var refusedList: Versions?
        var refusals = 0
    }

    /// Loads the CA bundle and the revocation list; both must be valid at start.
    public init(caPath: String, revocationListPath: String?, logger: Logger, now: Date = Date()) throws(PKIError) {
        self.caPath = caPath
        self.revocationListPath = revocationListPath
        self.logger = logger
        let versions = Versions(ca: FileStamp.of(caPath), list: revocationListPath.flatMap(FileStamp.of))
        let trust = try FederationTrust(contentsOf: caPath)
        let list = try revocationListPath.map { path throws(PKIError) in try RevocationList.load(contentsOf: path, ca: trust, now: now) }
        state = Mutex(State(snapshot: Snapshot(trust: trust, revocationList: list, generation: 0), loaded: versions))
    }

    /// How many new file versions were refused since start.
    public var refusals: Int { state.withLock { $0.refusals } }

    /// The trust in force, reloaded first if a file changed.
    public func current(now: Date = Date()) -> Snapshot {
        let versions = Versions(ca: FileStamp.of(caPath), list: revocationListPath.flatMap(FileStamp.of))
        return state.withLock { state in
            if state.loaded == versions { return state.snapshot }
            if state.loaded.ca != versions.ca && state.refusedCA != versions {
                reloadCA(&state, versions: versions, now: now)
            }
            if state.loaded.list != versions.list && state.refusedList != versions, let path = revocationListPath {
                do throws(PKIError) {
                    let list = try RevocationList.load(contentsOf: path, ca: state.snapshot.trust, now: now)
                    state.snapshot = Snapshot(trust: state.snapshot.trust, revocationList: list, generation: state.snapshot.generation)
                    state.loaded.list = versions.list
                    logger.notice("revocation list reloaded", metadata: [
                        "path": "\(path)", "entries": "\(list.entries.count)", "issued-at": "\(list.issuedAt)"])
                } catch {
                    state.refusedList = versions
                    state.refusals += 1
                    logger.error("new revocation list refused; keeping the previous one", metadata: [
                        "path": "\(path)", "reason": "\(error.message)"])
                }
            }
            return state.snapshot
        }
    }

    private func reloadCA(_ state: inout State, versions: Versions, now: Date) {
        do throws(PKIError) {
            let trust = try FederationTrust(contentsOf: caPath)
            var list = state.snapshot.revocationList
            if let path = revocationListPath {
                do throws(PKIError) {
                    list = try RevocationList.load(contentsOf: path, ca: trust, now: now)
                } catch {
                    throw PKIError(error.code, "the revocation list does not verify under the new CA bundle (install one signed by a CA of the new bundle first): \(error.message)", cause: error)
                }
            }
            state.snapshot = Snapshot(trust: trust, revocationList: list, generation: state.snapshot.generation + 1)
            state.loaded = versions
            logger.notice("federation CA bundle reloaded", metadata: [
                "path": "\(caPath)", "cas": "\(Self.describe(trust))"])
        } catch {
            state.refusedCA = versions
            state.refusals += 1
            logger.error("new federation CA bundle refused; keeping the previous one", metadata: [
                "path": "\(caPath)", "reason": "\(error.message)"])
        }
    }

    /// Subject, serial and notAfter of every CA of `trust`, for logs.
    public static func describe(_ trust: FederationTrust) -> String {
        trust.certificates.map { "\($0.subject) serial \(SerialNumber($0.serialNumber)) not-after \($0.notValidAfter)" }
            .joined(separator: "; ")
    }
}
