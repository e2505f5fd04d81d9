import Foundation
import Logging
import Metrics
import RenkeiCore
import RenkeiPKI
import Synchronization
import X509

/// The TLS and federation material a running node uses, all reloaded without
/// a restart when its file changes (checked at each use, and at once on
/// SIGHUP through `reload()`): the federation CA bundle and the revocation
/// list (`TrustReloader`), the node's own certificate and key
/// (`OwnCredentialsReloader`), and the signed directory (where the
/// requester sends inquiries). ADR 0010.
///
/// A new file version that is unsigned, tampered, expired, unreadable, or
/// (for the certificate) not matching its key or not issued by a CA of the
/// bundle is refused: the node keeps the last good version, logs the
/// refusal once per file version, and `refusals` says so. When the CA bundle
/// changes, the directory in force is verified again under it.
public final class TrustSource: Sendable {
    private let trustFiles: TrustReloader
    /// The node's own certificate and key; nil until they could be read
    /// (the doctor and the CLI build a TrustSource before checking them).
    private let ownFiles: Mutex<OwnCredentialsReloader?>
    private let config: NodeConfig
    private let directoryPath: String
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var directory: Loaded<Directory>?
        /// The stamp (nil: the file was missing) of a directory version that
        /// was refused, so each version is tried and logged once.
        var refusedDirectory: Refused?
        var refusals = 0
        /// The (credentials, CA) generations whose expiry was last recorded.
        var expiryRecorded: (Int, Int)?
    }

    private struct Refused: Equatable {
        let stamp: FileStamp?
        let trustGeneration: Int
    }

    private struct Loaded<Value: Sendable>: Sendable {
        let value: Value
        let stamp: FileStamp?
        let trustGeneration: Int
    }

    /// Loads the CA bundle and the revocation list (both must be valid at
    /// start) and, if they can be read, the node's certificate and key
    /// (`ownCredentials()` says why not). The directory is loaded on first
    /// use, so a node that only answers inquiries starts without one being
    /// valid yet.
    public init(config: NodeConfig, logger: Logger, now: Date = Date()) throws(PeerError) {
        do throws(PKIError) {
            trustFiles = try TrustReloader(caPath: config.caCertificatePath, revocationListPath: config.revocationListPath,
                                           logger: logger, now: now)
        } catch {
            throw PeerError(.tlsMaterial, error.message, cause: error)
        }
        self.config = config
        directoryPath = config.directoryPath
        self.logger = logger
        state = Mutex(State())
        ownFiles = Mutex(nil)
        _ = try? ownCredentials(now: now)
    }

    /// The node's certificate and key reloader.
    public func credentials() throws(PeerError) -> OwnCredentialsReloader {
        let result: Result<OwnCredentialsReloader, PeerError> = ownFiles.withLock { own in
            if let own { return .success(own) }
            do throws(PKIError) {
                let files = trustFiles
                let made = try OwnCredentialsReloader(
                    certificatePath: config.certificatePath, privateKeyPath: config.privateKeyPath, role: .node,
                    what: "node certificate", trust: { files.current(now: $0) }, logger: logger)
                own = made
                return .success(made)
            } catch {
                return .failure(PeerError(.tlsMaterial, error.message, cause: error))
            }
        }
        return try result.get()
    }

    /// The federation CA bundle in force.
    public var trust: FederationTrust { trustFiles.current().trust }

    /// How many new file versions were refused since start.
    public var refusals: Int {
        state.withLock { $0.refusals } + trustFiles.refusals + (ownFiles.withLock { $0?.refusals } ?? 0)
    }

    /// The verifier for the current CA bundle and revocation list.
    public func verifier(now: Date = Date()) -> PeerVerifier {
        let snapshot = trustFiles.current(now: now)
        return PeerVerifier(trust: snapshot.trust, revocationList: snapshot.revocationList)
    }

    /// The current revocation list, reloaded if its file changed.
    public func revocationList(now: Date = Date()) -> RevocationList? {
        trustFiles.current(now: now).revocationList
    }

    /// The node's certificate and key for a new connection, reloaded if
    /// their files changed.
    public func ownCredentials(now: Date = Date()) throws(PeerError) -> OwnCredentials {
        let current = try credentials().current(now: now)
        recordExpiryIfChanged(now: now)
        return current
    }

    /// Checks every file now (SIGHUP): CA bundle, revocation list, node
    /// certificate and key, directory. Changes and refusals are logged by
    /// each reloader; returns a one-line summary of what is in force.
    @discardableResult
    public func reload(now: Date = Date()) -> String {
        let refusedBefore = refusals
        let snapshot = trustFiles.current(now: now)
        let own: String
        do throws(PeerError) {
            let credentials = try ownCredentials(now: now)
            own = "serial \(credentials.serial) not-after \(credentials.notAfter)"
        } catch {
            own = "unreadable (\(error.message))"
        }
        let directory: String
        do throws(PeerError) {
            let d = try self.directory(now: now)
            directory = "\(d.entries.count) entries, expires \(d.expiresAt)"
        } catch {
            directory = "none (\(error.message))"
        }
        let summary = "node certificate \(own); CA \(TrustReloader.describe(snapshot.trust)); "
            + "revocation list \(snapshot.revocationList.map { "\($0.entries.count) entries, issued \($0.issuedAt)" } ?? "none"); "
            + "directory \(directory); refused now \(refusals - refusedBefore)"
        logger.notice("TLS material checked (SIGHUP)", metadata: ["in-force": "\(summary)"])
        return summary
    }

    /// The certificates in use, for expiry: the node's leaf, and each CA of the bundle.
    public func certificatesInUse(now: Date = Date()) -> [(kind: String, certificate: Certificate)] {
        CertificateExpiry.inUse(own: "node", leaf: try? credentials().current(now: now).leaf,
                                cas: trustFiles.current(now: now).trust.certificates)
    }

    /// Records `renkei_certificate_not_after_seconds{certificate}` for every
    /// certificate in use and warns for any that expires within 30 days.
    /// Done at start and again whenever the certificate or CA bundle changes.
    public func recordExpiry(now: Date = Date()) {
        let generations = ((try? credentials().generation) ?? -1, trustFiles.current(now: now).generation)
        state.withLock { $0.expiryRecorded = generations }
        CertificateExpiry.record(certificatesInUse(now: now), logger: logger, now: now)
    }

    private func recordExpiryIfChanged(now: Date) {
        let generations = ((try? credentials().generation) ?? -1, trustFiles.current(now: now).generation)
        let changed = state.withLock { state -> Bool in
            guard let recorded = state.expiryRecorded, recorded != generations else { return false }
            state.expiryRecorded = generations
            return true
        }
        if changed { CertificateExpiry.record(certificatesInUse(now: now), logger: logger, now: now) }
    }

    /// The current signed directory: reloaded if its file or the CA bundle
    /// changed; a refused new version leaves the previous one in force until
    /// that one expires.
    public func directory(now: Date = Date()) throws(PeerError) -> Directory {
        let stamp = FileStamp.of(directoryPath)
        let snapshot = trustFiles.current(now: now)
        let version = Refused(stamp: stamp, trustGeneration: snapshot.generation)
        let result: Result<Directory, PeerError> = state.withLock { state in
            let refusedVersion = state.refusedDirectory == version
            if let current = state.directory,
               (current.stamp == stamp && current.trustGeneration == snapshot.generation) || refusedVersion {
                guard current.value.expiresAt > now else {
                    return .failure(PeerError(.directory, "the federation directory expired at \(current.value.expiresAt); install a new one"))
                }
                return .success(current.value)
            }
            do throws(PKIError) {
                let directory = try SignedDirectory.load(contentsOf: directoryPath, trust: snapshot.trust, now: now)
                let reloaded = state.directory != nil
                state.directory = Loaded(value: directory, stamp: stamp, trustGeneration: snapshot.generation)
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
                    state.refusedDirectory = version
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

    /// The trust in the `PeerTrust` shape the client takes, with the node's
    /// current certificate and key for the new connection.
    public func peerTrust(now: Date = Date()) -> PeerTrust {
        let snapshot = trustFiles.current(now: now)
        return PeerTrust(trust: snapshot.trust, revocationList: snapshot.revocationList, credentials: try? ownCredentials(now: now))
    }
}

/// The expiry gauge and the 30-day warning for certificates in use.
public enum CertificateExpiry {
    /// Warn this long before a certificate expires.
    public static let warningSeconds: TimeInterval = 30 * 86_400

    /// The certificates a process uses, labelled for the gauge: its own leaf
    /// as `own`, the first CA of the bundle as `ca`, further ones `ca-2`, `ca-3`…
    public static func inUse(own: String, leaf: Certificate?, cas: [Certificate]) -> [(kind: String, certificate: Certificate)] {
        var result: [(kind: String, certificate: Certificate)] = []
        if let leaf { result.append((kind: own, certificate: leaf)) }
        for (i, ca) in cas.enumerated() { result.append((kind: i == 0 ? "ca" : "ca-\(i + 1)", certificate: ca)) }
        return result
    }

    /// Records `renkei_certificate_not_after_seconds{certificate}` (unix
    /// seconds; alert on `- time()`) for each certificate and logs a warning
    /// for each that expires within 30 days.
    public static func record(_ certificates: [(kind: String, certificate: Certificate)], logger: Logger, now: Date = Date()) {
        for (kind, certificate) in certificates {
            Gauge(label: "renkei_certificate_not_after_seconds", dimensions: [("certificate", kind)])
                .record(certificate.notValidAfter.timeIntervalSince1970)
            let left = certificate.notValidAfter.timeIntervalSince(now)
            if left < warningSeconds {
                logger.warning("certificate expires soon: renew it", metadata: [
                    "certificate": "\(kind)", "serial": "\(SerialNumber(certificate.serialNumber))",
                    "not-after": "\(certificate.notValidAfter)", "days-left": "\(Int((left / 86_400).rounded(.down)))",
                ])
            }
        }
    }
}
