import Foundation
import Logging
import RenkeiPKI

/// The federation material a vault process or a vault client trusts: the
/// federation CA and, if configured, the signed revocation list, reloaded
/// without a restart when its file changes.
///
/// The list is reloaded by RenkeiPKI's `RevocationListReloader`, as on the
/// node: a new version that is unsigned, tampered, expired or unreadable is
/// refused and the last good one stays in force, logged once per version.
public final class VaultTrust: Sendable {
    /// The federation CA.
    public let trust: FederationTrust
    private let revocations: RevocationListReloader?

    /// Loads the CA and the revocation list; both must be valid at start.
    public init(caCertificatePath: String, revocationListPath: String?, logger: Logger = Logger(label: "renkei.vault.trust"),
                now: Date = Date()) throws(VaultNetworkError) {
        do throws(PKIError) {
            let ca = try FederationTrust(contentsOf: caCertificatePath)
            revocations = try revocationListPath.map { path throws(PKIError) in
                try RevocationListReloader(path: path, ca: ca, logger: logger, now: now)
            }
            trust = ca
        } catch {
            throw VaultNetworkError(.tlsMaterial, error.message, cause: error)
        }
    }

    /// How many new revocation list versions were refused since start.
    public var refusals: Int { revocations?.refusals ?? 0 }

    /// The verifier for the current revocation list.
    public func verifier(now: Date = Date()) -> PeerVerifier {
        PeerVerifier(trust: trust, revocationList: revocationList(now: now))
    }

    /// The current revocation list, reloaded if its file changed.
    public func revocationList(now: Date = Date()) -> RevocationList? {
        revocations?.current(now: now)
    }
}
