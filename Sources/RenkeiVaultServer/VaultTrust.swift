import Foundation
import Logging
import RenkeiPKI

/// The federation material a vault process or a vault client trusts: the
/// federation CA bundle and, if configured, the signed revocation list, both
/// reloaded without a restart when their file changes (ADR 0010).
///
/// Reloaded by RenkeiPKI's `TrustReloader`, as on the node: a new version
/// that does not parse, is unsigned, tampered or expired, or a CA bundle
/// under which the revocation list in force no longer verifies, is refused
/// and the last good one stays in force, logged once per version.
public final class VaultTrust: Sendable {
    private let files: TrustReloader

    /// Loads the CA bundle and the revocation list; both must be valid at start.
    public init(caCertificatePath: String, revocationListPath: String?, logger: Logger = Logger(label: "renkei.vault.trust"),
                now: Date = Date()) throws(VaultNetworkError) {
        do throws(PKIError) {
            files = try TrustReloader(caPath: caCertificatePath, revocationListPath: revocationListPath, logger: logger, now: now)
        } catch {
            throw VaultNetworkError(.tlsMaterial, error.message, cause: error)
        }
    }

    /// The federation CA bundle in force.
    public var trust: FederationTrust { files.current().trust }

    /// The CA bundle and revocation list in force, reloaded first if a file changed.
    public func current(now: Date = Date()) -> TrustReloader.Snapshot { files.current(now: now) }

    /// How many new CA bundle or revocation list versions were refused since start.
    public var refusals: Int { files.refusals }

    /// The verifier for the current CA bundle and revocation list.
    public func verifier(now: Date = Date()) -> PeerVerifier {
        let snapshot = files.current(now: now)
        return PeerVerifier(trust: snapshot.trust, revocationList: snapshot.revocationList)
    }

    /// The current revocation list, reloaded if its file changed.
    public func revocationList(now: Date = Date()) -> RevocationList? {
        files.current(now: now).revocationList
    }
}
