import Crypto
import Foundation
import Logging
import Synchronization
import X509

/// A process's own TLS certificate (with any intermediates) and private key,
/// as read and checked from their files.
public struct OwnCredentials: Sendable {
    /// The certificate chain, leaf first.
    public let chain: [Certificate]
    /// The private key of the leaf.
    public let privateKey: P256.Signing.PrivateKey
    /// The file versions these were read from.
    let stamps: [FileStamp?]

    /// The leaf certificate.
    public var leaf: Certificate { chain[0] }
    /// The leaf's serial.
    public var serial: SerialNumber { SerialNumber(leaf.serialNumber) }
    /// The leaf's end of validity.
    public var notAfter: Date { leaf.notValidAfter }

    /// The chain as DER, leaf first, for the TLS layer.
    public func chainDER() throws(PKIError) -> [[UInt8]] {
        try chain.map { certificate throws(PKIError) in try CertificateCoding.der(certificate) }
    }

    /// The private key as PKCS#8 DER. Never log it.
    public var privateKeyDER: [UInt8] { Array(privateKey.derRepresentation) }

    /// The private key as PKCS#8 PEM, for the TLS layer. Never log it.
    public var privateKeyPEM: [UInt8] { Array(privateKey.pemRepresentation.utf8) }

    /// Reads the certificate chain and key and checks that they belong
    /// together. With `trust`, the leaf must also be issued (directly or
    /// through the intermediates in the file) by a CA of the bundle, be
    /// valid at `now`, not be revoked, and have `role` if given.
    public static func load(certificatePath: String, privateKeyPath: String, trust: FederationTrust?,
                            revocationList: RevocationList? = nil, role: PKIRole? = nil,
                            now: Date = Date()) throws(PKIError) -> OwnCredentials {
        let stamps = [FileStamp.of(certificatePath), FileStamp.of(privateKeyPath)]
        let chain = try CertificateCoding.certificates(from: try PKIFiles.contents(certificatePath, what: "certificate"),
                                                       source: certificatePath)
        let key = try PrivateKeyFile.read(privateKeyPath)
        let leaf = chain[0]
        let subject = "\(certificatePath) (\(leaf.subject) serial \(SerialNumber(leaf.serialNumber)))"
        guard Certificate.PublicKey(key.publicKey) == leaf.publicKey else {
            throw PKIError(.malformedKey, "\(privateKeyPath) is not the private key of \(subject)")
        }
        if let trust {
            try check(chain, subject: subject, trust: trust, revocationList: revocationList, role: role, now: now)
        }
        return OwnCredentials(chain: chain, privateKey: key, stamps: stamps)
    }

    /// Signatures up to a CA of the bundle, validity of the leaf, revocation, role.
    static func check(_ chain: [Certificate], subject: String, trust: FederationTrust, revocationList: RevocationList?,
                      role: PKIRole?, now: Date) throws(PKIError) {
        let leaf = chain[0]
        var tip = leaf
        var path = [leaf]
        while trust.issuer(of: tip) == nil {
            guard path.count <= 8, let next = chain.first(where: { candidate in
                !path.contains(candidate) && candidate.publicKey.isValidSignature(tip.signature, for: tip)
            }) else {
                throw PKIError(.untrusted, "\(subject) is not issued by the federation CA \(trust.subjects)")
            }
            path.append(next)
            tip = next
        }
        for certificate in path {
            if now > certificate.notValidAfter {
                throw PKIError(.expired, "\(subject): \(certificate.subject) expired at \(certificate.notValidAfter)")
            }
            if now < certificate.notValidBefore {
                throw PKIError(.notYetValid, "\(subject): \(certificate.subject) is not valid before \(certificate.notValidBefore)")
            }
            if let revocationList, revocationList.isRevoked(SerialNumber(certificate.serialNumber)) {
                throw PKIError(.revoked, "\(subject): serial \(SerialNumber(certificate.serialNumber)) is revoked by the federation")
            }
        }
        if let role {
            let info = try PeerCertificateInfo(leaf)
            guard info.role == role else {
                throw PKIError(.wrongRole, "\(subject) has role \(info.role?.rawValue ?? "none"), expected \(role.rawValue)")
            }
        }
    }
}

/// A process's own certificate and key in use, reloaded without a restart
/// when either file changes (checked at every handshake and on SIGHUP).
///
/// A new version is used for new connections only once it passes every
/// check of `OwnCredentials.load` with the trust in force: it parses, the
/// key matches the certificate, it chains to a CA of the bundle, it is valid
/// now, not revoked, and has the expected role. Otherwise the last good
/// certificate stays in use, the refusal is logged once per file version and
/// counted. Connections already open keep the certificate they were
/// established with. The files should be replaced by rename (write a temp
/// file, `mv` it into place): a half-written file is refused, then picked up
/// once complete.
public final class OwnCredentialsReloader: Sendable {
    /// The certificate (chain) file.
    public let certificatePath: String
    /// The private key file.
    public let privateKeyPath: String
    /// What the certificate is, in logs ("node certificate").
    public let what: String
    private let role: PKIRole?
    private let trust: @Sendable (Date) -> TrustReloader.Snapshot
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var credentials: OwnCredentials
        var refusedStamps: [FileStamp?]?
        var refusals = 0
        var generation = 0
    }

    /// Loads the certificate and key, which must parse and belong together.
    /// At start a certificate that does not (yet) chain to the bundle or is
    /// outside its validity is still used, with a warning, as before reloading
    /// existed: peers refuse it and the operator sees why. Replacements must pass every check.
    public init(certificatePath: String, privateKeyPath: String, role: PKIRole?, what: String,
                trust: @escaping @Sendable (Date) -> TrustReloader.Snapshot, logger: Logger, now: Date = Date()) throws(PKIError) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.role = role
        self.what = what
        self.trust = trust
        self.logger = logger
        let credentials = try OwnCredentials.load(certificatePath: certificatePath, privateKeyPath: privateKeyPath, trust: nil)
        let snapshot = trust(now)
        do throws(PKIError) {
            try OwnCredentials.check(credentials.chain, subject: certificatePath, trust: snapshot.trust,
                                     revocationList: snapshot.revocationList, role: role, now: now)
        } catch {
            logger.warning("\(what) in use fails a check; peers will refuse it", metadata: ["reason": "\(error.message)"])
        }
        state = Mutex(State(credentials: credentials))
    }

    /// How many new file versions were refused since start.
    public var refusals: Int { state.withLock { $0.refusals } }

    /// Increases by one each time a new certificate is taken into use.
    public var generation: Int { state.withLock { $0.generation } }

    /// The certificate and key in use, reloaded first if a file changed.
    public func current(now: Date = Date()) -> OwnCredentials {
        let stamps = [FileStamp.of(certificatePath), FileStamp.of(privateKeyPath)]
        if let unchanged = state.withLock({ state in state.credentials.stamps == stamps || state.refusedStamps == stamps ? state.credentials : nil }) {
            return unchanged
        }
        let snapshot = trust(now)
        let loaded: Result<OwnCredentials, PKIError>
        do throws(PKIError) {
            loaded = .success(try OwnCredentials.load(certificatePath: certificatePath, privateKeyPath: privateKeyPath,
                                                      trust: snapshot.trust, revocationList: snapshot.revocationList,
                                                      role: role, now: now))
        } catch {
            loaded = .failure(error)
        }
        return state.withLock { state in
            switch loaded {
            case .success(let credentials):
                let previous = state.credentials
                state.credentials = credentials
                state.refusedStamps = nil
                state.generation += 1
                logger.notice("\(what) reloaded", metadata: [
                    "path": "\(certificatePath)",
                    "serial": "\(credentials.serial)", "previous-serial": "\(previous.serial)",
                    "not-after": "\(credentials.notAfter)"])
            case .failure(let error):
                if state.refusedStamps != stamps {
                    state.refusedStamps = stamps
                    state.refusals += 1
                    logger.error("new \(what) refused; keeping the one in use", metadata: [
                        "path": "\(certificatePath)", "serial-in-use": "\(state.credentials.serial)", "reason": "\(error.message)"])
                }
            }
            return state.credentials
        }
    }
}
